#!/usr/bin/python3
"""A grid of gam settings under the study protocol, chosen on the tuning halves and reported on the test halves.

    /usr/bin/python3 tools/real_usage_study/grid_study.py --mix issue=OUT1:spike,dip,level_shift,unit_x1000,zero,double \\
        --mix own=OUT2 --grid yearly_min_days=548,730,1095 --grid z=6,6.5,7,7.5,8 [--out CSV]

Each --mix NAME=DIR[:KINDS] is a folder that `run_study.py --steps cli --out DIR [--kinds KINDS]` has filled (the
cached injected sets under DIR/sets, the ingested sources under DIR/cli/s<seed>/); KINDS defaults to every kind.
Every point of the grids' Cartesian product runs `meterbench detect --min-impact 0` on every mix, seed and
source (alert CSVs cached under DIR/grid/), is scored with the issue's scorer per half, and the points are ranked
by their mean tuning-half event F1 over mixes, sources and seeds; the table shows the test halves' F1 per mix and
source beside it. Writes the per-fold scores to --out (default: the first mix's DIR/grid.csv).
"""
import argparse
import itertools
import os
import subprocess
import sys
import pandas as pd
import protocol as P
from cli_eval import flags_from_alerts


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--mix', action='append', required=True, metavar='NAME=DIR[:KINDS]')
    p.add_argument('--grid', action='append', required=True, metavar='KEY=V1,V2,...')
    p.add_argument('--cli', default=P.DEFAULT_CLI)
    p.add_argument('--data', default=P.DEFAULT_DATA)
    p.add_argument('--london', type=int, default=P.SAMPLE['london'])
    p.add_argument('--seeds', type=int, nargs='+', default=list(P.SEEDS))
    p.add_argument('--out', default=None)
    return p.parse_args()


def main():
    args = parse_args()
    grids = []
    for g in args.grid:
        key, _, values = g.partition('=')
        if not key or not values:
            raise SystemExit(f'--grid {g!r}: expected KEY=V1,V2,...')
        grids.append([(key, v) for v in values.split(',')])
    points = [dict(p) for p in itertools.product(*grids)]
    rows = []
    for spec in args.mix:
        name, _, rest = spec.partition('=')
        folder, _, kinds = rest.partition(':')
        if not name or not folder:
            raise SystemExit(f'--mix {spec!r}: expected NAME=DIR[:KINDS]')
        sets_args = argparse.Namespace(out=folder, london=args.london, data=args.data, kinds=kinds or ','.join(P.KINDS))
        os.makedirs(os.path.join(folder, 'grid'), exist_ok=True)
        for seed in args.seeds:
            items = P.load_set(sets_args, seed)
            for src in P.SOURCES:
                h5 = os.path.join(folder, 'cli', f's{seed}', f'{src}.h5')
                if not os.path.exists(h5):
                    raise SystemExit(f'no {h5}: run run_study.py --steps cli --out {folder} first')
                for point in points:
                    tag = '_'.join(f'{k}{v}' for k, v in point.items())
                    alerts = os.path.join(folder, 'grid', f's{seed}_{src}_{tag}.csv')
                    if not os.path.exists(alerts):
                        cmd = [args.cli, 'detect', '--data', h5, '--model', 'gam', '--min-impact', '0', '--out', alerts,
                               '--force', '--threads', '2']
                        for k, v in point.items():
                            cmd += ['--set', f'{k}={v}']
                        r = subprocess.run(cmd, capture_output=True, text=True)
                        if r.returncode != 0:
                            sys.stderr.write(r.stderr)
                            raise SystemExit(r.returncode)
                    flags = flags_from_alerts(items, alerts, src)
                    for half in (0, 1):
                        e = P.evaluate(items, flags, sources=(src,), half=half).loc[src]
                        rows.append(dict(mix=name, seed=seed, source=src, half=half, **point, F1=e.F1,
                                         FA_per_1k_sw=e.FA_per_1k_sw))
    d = pd.DataFrame(rows)
    out = args.out or os.path.join(args.mix[0].partition('=')[2].partition(':')[0], 'grid.csv')
    d.to_csv(out, index=False)
    keys = [k for k, _ in (g[0] for g in grids)]
    tune = d[d.half == 0].groupby(keys)['F1'].mean().rename('tune_mean_F1')
    test = d[d.half == 1].pivot_table(index=keys, columns=['mix', 'source'], values='F1')
    test.columns = [f'test_{m}_{s}' for m, s in test.columns]
    table = pd.concat([tune, test], axis=1).sort_values('tune_mean_F1', ascending=False)
    pd.set_option('display.width', 250)
    print('ranked by the mean tuning-half event F1 (mixes x sources x seeds); test-half F1 per mix and source:')
    print(table.round(3).to_string())
    print(f'per-fold scores: {out}')


if __name__ == '__main__':
    main()
