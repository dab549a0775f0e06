#!/usr/bin/python3
"""The CLI's gam under named settings on the study's injected sets: one change at a time, before and after.

Each family of gam_variants.json is a list of `--set` values; it runs over the z grid of the file (z tuned on
the tuning half as cli_eval does: best F1 within 100 false alerts per 1,000 series-weeks, scored on the test
half) and at its fixed z (`fixed_z`, or the binary's default when absent: scored on both halves, untuned).
Paired differences against the family named `reference` are the mean [min, max] over the same folds.

    nice -n 10 /usr/bin/python3 tools/real_usage_study/gam_eval.py --data DIR --cli BIN --out DIR \
        [--variants tools/real_usage_study/gam_variants.json] [--families a,b] [--tag NAME]

Writes <out>/gam_eval/<tag>_raw.csv and <tag>_tables.md (alert CSVs under <out>/gam_eval/<tag>/s<seed>/, reused).
"""
import json
import os
import numpy as np
import pandas as pd
import protocol as P
from cli_eval import run, alert_file, flags_from_alerts
from sweep import BAND

HERE = os.path.dirname(os.path.abspath(__file__))


def add_args(parser):
    parser.add_argument('--variants', default=os.path.join(HERE, 'gam_variants.json'))
    parser.add_argument('--families', default='', help='comma-separated family names (default: all)')
    parser.add_argument('--tag', default='gam', help='name of this run (a binary or a branch)')


def detect(args, items, workdir, src, sets):
    h5 = os.path.join(workdir, f'{src}.h5')
    if not os.path.exists(h5):
        csv = os.path.join(workdir, f'{src}.csv')
        P.write_cli_csv(items, csv, src)
        run([args.cli, 'ingest', '--csv', csv, '--out', h5, '--force', '--threads', '1'])
    name = 'gam' + ('[' + ','.join(sets) + ']' if sets else '')
    out = alert_file(workdir, src, name)
    if not os.path.exists(out):
        cmd = [args.cli, 'detect', '--data', h5, '--model', 'gam', '--min-impact', '0', '--out', out, '--force',
               '--threads', '1']
        for s in sets:
            cmd += ['--set', s]
        run(cmd)
    return flags_from_alerts(items, out, src)


def main(args):
    spec = json.load(open(args.variants))
    zgrid = spec['z']
    fams = spec['families']
    if args.families:
        fams = {k: v for k, v in fams.items() if k in args.families.split(',')}
    base = os.path.join(args.out, 'gam_eval')
    rows = []
    for seed, items in P.load_sets(args).items():
        workdir = os.path.join(base, args.tag, f's{seed}')
        os.makedirs(workdir, exist_ok=True)
        for src in P.SOURCES:
            for fam, f in fams.items():
                sets = f['sets']
                per = {}
                for z in zgrid:
                    fl = detect(args, items, workdir, src, sets + [f'z={z}'])
                    for half in (0, 1):
                        per[(z, half)] = P.evaluate(items, fl, sources=(src,), half=half).loc[src].to_dict()
                for tune in (0, 1):
                    best = max(zgrid, key=lambda z: per[(z, tune)]['F1'] if per[(z, tune)]['FA_per_1k_sw'] <= 100 else -1)
                    rows.append(dict(per[(best, 1 - tune)], family=fam, mode='tuned', source=src, seed=seed, fold=tune,
                                     chosen=best))
                fz = f.get('fixed_z')
                fl = detect(args, items, workdir, src, sets + ([f'z={fz}'] if fz else []))
                for half in (0, 1):
                    rows.append(dict(P.evaluate(items, fl, sources=(src,), half=half).loc[src].to_dict(), family=fam,
                                     mode='fixed', source=src, seed=seed, fold=1 - half, chosen=fz or 'default'))
            print(f'seed {seed} {src} done', flush=True)
    df = pd.DataFrame(rows)
    df['R_band'] = df[['R_' + k for k in BAND]].mean(axis=1)
    df.to_csv(os.path.join(base, f'{args.tag}_raw.csv'), index=False)
    write_tables(df, spec.get('reference'), os.path.join(base, f'{args.tag}_tables.md'))


def cell(g):
    return f"{g['F1'].mean():.2f} ({g['P'].mean():.2f}/{g['R'].mean():.2f}/{g['FA_per_1k_sw'].mean():.0f})"


def write_tables(df, reference, path):
    lines = []
    for mode in ('fixed', 'tuned'):
        lines += [f'### {mode} z: F1 (P/R/FA per 1,000 series-weeks)', '',
                  '| family | ' + ' | '.join(P.SOURCES) + ' |', '| --- |' + ' --- |' * len(P.SOURCES)]
        d = df[df['mode'] == mode]
        for fam in d['family'].unique():
            cells = [cell(d[(d.family == fam) & (d.source == s)]) for s in P.SOURCES]
            lines.append(f'| {fam} | ' + ' | '.join(cells) + ' |')
        lines.append('')
        if reference and reference in set(d['family']):
            lines += [f'paired F1 difference against `{reference}` ({mode} z; mean [min, max] over folds)', '',
                      '| family | ' + ' | '.join(P.SOURCES) + ' |', '| --- |' + ' --- |' * len(P.SOURCES)]
            key = ['source', 'seed', 'fold']
            ref = d[d.family == reference].set_index(key)['F1']
            for fam in d['family'].unique():
                if fam == reference:
                    continue
                diff = d[d.family == fam].set_index(key)['F1'] - ref
                cells = []
                for s in P.SOURCES:
                    x = diff.xs(s, level='source')
                    cells.append(f'{x.mean():+.2f} [{x.min():+.2f},{x.max():+.2f}]')
                lines.append(f'| {fam} | ' + ' | '.join(cells) + ' |')
            lines.append('')
    with open(path, 'w') as f:
        f.write('\n'.join(lines) + '\n')
    print('\n'.join(lines))


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0], add_args))
