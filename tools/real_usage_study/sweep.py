#!/usr/bin/python3
"""Prototype sweep: every configuration of configs.json under the study protocol.

For each injection seed and each fold (tune on one hash half, test on the other, then swapped), z is chosen per
source on the tuning half (max F1 subject to <= 100 false alerts per 1,000 series-weeks) and the test half is
scored; the test scores are averaged (F1 min and max kept to show the noise). Also, per false-alert budget
(10 and 30), the smallest z whose tuning-half false alerts are within the budget; R_band (mean recall over the
kinds the band must catch) is read there. The Poisson count-band configurations need python3-scipy
(not installed by tools/setup.sh) and are skipped without it.

Writes <out>/proto_summary.csv (one row per configuration, source and z mode) and <out>/proto_raw.csv (one
row per configuration, source, seed and fold: what make_tables.py pairs).
"""
import importlib.util
import json
import os
import time
import numpy as np
import pandas as pd
import protocol as P
import proto as M

ZS = [3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 7.0, 8.0, 10.0, 12.0, 15.0]
BUDGETS = (10, 30)
BAND = ('spike', 'dip', 'level_shift', 'unit_d1000', 'zero', 'double')
METRICS = ['P', 'R', 'F1', 'FA_per_1k_sw'] + ['R_' + k for k in P.KINDS]
HAVE_SCIPY = importlib.util.find_spec('scipy') is not None  # only the Poisson count band needs it
CONFIGS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'configs.json')


def load_configs(path=CONFIGS):
    with open(path) as f:
        return json.load(f)


def r_band(row):
    return float(np.nanmean([row['R_' + k] for k in BAND]))


def flags_for(res, z):
    return {k: ((np.nan_to_num(s, nan=0.0) > z) | rr) for k, (s, rr) in res.items()}


def evaluate_grid(items, res):
    per = {}
    for z in ZS:
        fl = flags_for(res, z)
        for half in (0, 1):
            ev = P.evaluate(items, fl, half=half)
            for src in P.SOURCES:
                per[(src, z, half)] = ev.loc[src].to_dict()
    return per


def choose_z(per, src, tune):
    """Best tuning-half F1 among the z within 100 false alerts per 1,000 series-weeks (ties: smaller z)."""
    return -max((per[(src, z, tune)]['F1'] if per[(src, z, tune)]['FA_per_1k_sw'] <= 100 else -1, -z) for z in ZS)[1]


def sweep_config(sets, name, cfg):
    """Returns (summary rows, raw rows) of one configuration."""
    t = time.time()
    raw = []
    for seed, items in sets.items():
        per = evaluate_grid(items, M.run_config(items, cfg))
        for tune in (0, 1):
            test = 1 - tune
            for src in P.SOURCES:
                z = choose_z(per, src, tune)
                raw.append(dict(per[(src, z, test)], config=name, source=src, seed=seed, tune=tune, z=z,
                                zmode='per-source z'))
                for b in BUDGETS:
                    zb = min([z2 for z2 in ZS if per[(src, z2, tune)]['FA_per_1k_sw'] <= b] or [max(ZS)])
                    raw.append(dict(per[(src, zb, test)], config=name, source=src, seed=seed, tune=tune, z=zb,
                                    zmode=f'FA budget {b}'))
    for r in raw:
        r['R_band'] = r_band(r)
    rows = []
    df = pd.DataFrame(raw)
    for (src, zmode), g in df.groupby(['source', 'zmode'], sort=False):
        r = g[METRICS + ['R_band']].mean().to_dict()
        r.update(config=name, source=src, zmode=zmode, z=','.join(f'{z:g}' for z in g['z']),
                 F1_min=g['F1'].min(), F1_max=g['F1'].max())
        rows.append(r)
    f1 = df[df.zmode == 'per-source z'].groupby('source', sort=False)['F1'].mean().round(3).to_dict()
    print(f'{name:42s} {time.time() - t:5.1f}s test F1 {f1}', flush=True)
    return rows, raw


def main(args):
    sets = P.load_sets(args)
    rows, raw = [], []
    for name, cfg in load_configs().items():
        if cfg.get('count') and not HAVE_SCIPY:
            print(f'{name:42s} skipped: needs python3-scipy', flush=True)
            continue
        r, w = sweep_config(sets, name, cfg)
        rows += r
        raw += w
    os.makedirs(args.out, exist_ok=True)
    pd.DataFrame(rows).to_csv(os.path.join(args.out, 'proto_summary.csv'), index=False)
    pd.DataFrame(raw).to_csv(os.path.join(args.out, 'proto_raw.csv'), index=False)


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
