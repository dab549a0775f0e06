#!/usr/bin/python3
"""One setting for all sources from `meterbench sweep` tuning halves: reads each source's sweep.csv (rows =
grid point x threshold z, metrics of the tuning half), keeps the rows with at most --budget false alerts per
1,000 series-weeks on every source, and ranks (point, z) by the mean tuning-half event F1 over the sources.
    tools/choose_defaults.py london=DIR wiki=DIR ... [--budget 100] [--top 10]
"""
import argparse
import os
import pandas as pd

p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
p.add_argument('sweeps', nargs='+', metavar='SOURCE=SWEEP_DIR')
p.add_argument('--budget', type=float, default=100.0)
p.add_argument('--top', type=int, default=10)
p.add_argument('--show', action='append', default=[], metavar='KEY=V,...,z=Z', help='also print this row')
args = p.parse_args()
frames = []
for spec in args.sweeps:
    source, path = spec.split('=', 1)
    d = pd.read_csv(os.path.join(path, 'sweep.csv'))
    d['source'] = source
    frames.append(d)
d = pd.concat(frames)
keys = [c for c in frames[0].columns if c not in ('point',) and frames[0].columns.get_loc(c) < frames[0].columns.get_loc('point_precision')]
wide = d.pivot_table(index=keys, columns='source', values=['event_f1', 'false_alerts_per_1000_series_weeks'])
f1, fa = wide['event_f1'], wide['false_alerts_per_1000_series_weeks']
table = f1.add_prefix('F1_').join(fa.add_prefix('FA_'))
table['mean_F1'] = f1.mean(axis=1)
table['min_F1'] = f1.min(axis=1)
ok = (fa <= args.budget).all(axis=1)
ranked = table[ok].sort_values('mean_F1', ascending=False)
pd.set_option('display.width', 250)
print(f'tuning halves, rows within {args.budget} false alerts per 1,000 series-weeks on every source, by mean event F1:')
print(ranked.head(args.top).round(3).to_string())
for show in args.show:
    want = dict(kv.split('=') for kv in show.split(','))
    sel = table.reset_index()
    for k, v in want.items():
        sel = sel[sel[k].astype(str) == v] if k != 'z' else sel[sel[k] == float(v)]
    print(f'\n{show}:\n' + sel.round(3).to_string(index=False))
print('\nby min F1 over the sources:')
print(table[ok].sort_values('min_F1', ascending=False).head(args.top).round(3).to_string())
