#!/usr/bin/python3
"""The whole real-usage study in one command: build the injected sets, run the prototype sweep, the CLI
evaluation, the z curve and background alerts, the faithfulness check, and write <out>/tables.md.

    /usr/bin/python3 tools/real_usage_study/run_study.py [--data DIR] [--cli BIN] [--out DIR]
        [--seeds 16 17] [--london 120] [--steps sweep,cli,zcurve,faithful,tables]

Every step reads the cached sets under <out>/sets/ and the CLI's alert CSVs are reused when present, so a step
can be re-run alone. See README.md for the protocol and the run time.
"""
import time
import protocol as P
import sweep
import cli_eval
import zcurve
import check_faithful
import make_tables

STEPS = {'sweep': sweep.main, 'cli': cli_eval.main, 'zcurve': zcurve.main, 'faithful': check_faithful.main,
         'tables': make_tables.main}


def add_args(parser):
    parser.add_argument('--steps', default=','.join(STEPS),
                        help='comma-separated steps among %(default)s (default: all, in that order)')


def main(args):
    steps = args.steps.split(',')
    unknown = [s for s in steps if s not in STEPS]
    if unknown:
        raise SystemExit(f'unknown steps {unknown}; choose among {list(STEPS)}')
    t0 = time.time()
    P.load_sets(args)
    for name in STEPS:
        if name in steps:
            t = time.time()
            print(f'== {name}', flush=True)
            STEPS[name](args)
            print(f'== {name} done in {time.time() - t:.0f}s', flush=True)
    print(f'all done in {time.time() - t0:.0f}s; tables in {args.out}/tables.md', flush=True)


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0], add_args))
