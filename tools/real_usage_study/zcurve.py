#!/usr/bin/python3
"""The z choice for the recommended design, and what limits its precision.

1. F1, R_band, false alerts and x1000 recall of the recommended configuration at fixed z (all series of every
   seed, no tuning): <out>/zcurve.csv.
2. Alerts of R0 (log1p, weekday scale, run score, stuck and stopped rules) on the clean, uninjected backgrounds
   of the first seed (replicate 0 only): rate per 1,000 series-weeks and the most frequent alert start dates
   (holidays, storms, news spikes): <out>/background.csv.
"""
import collections
import os
import numpy as np
import pandas as pd
import protocol as P
import proto as M
import sweep as S

RECOMMENDED = 'Rfinal with log1p(y/c), c=0.05 median'
BACKGROUND = 'R0 = L+3+8(w3,7)'
ZS = [6, 8, 10, 12, 15]


def z_curve(sets, cfg):
    rows = []
    for seed, items in sets.items():
        res = M.run_config(items, cfg)
        for z in ZS:
            ev = P.evaluate(items, S.flags_for(res, z))
            for src in P.SOURCES:
                r = ev.loc[src].to_dict()
                rows.append(dict(r, R_band=S.r_band(r), seed=seed, source=src, z=z))
    return (pd.DataFrame(rows).groupby(['z', 'source'], sort=False)
            [['F1', 'P', 'R', 'R_band', 'FA_per_1k_sw', 'R_unit_x1000']].mean().reset_index())


def background_alerts(items, cfg):
    items = [dict(it, values=it['clean'], events=[]) for it in items if '#' not in it['id'] or it['id'].endswith('#0')]
    res = M.run_config(items, cfg)
    rows = []
    for z in (6, 8, 12):
        for src in P.SOURCES:
            n_al, weeks, dates = 0, 0.0, collections.Counter()
            for it in items:
                if it['source'] != src:
                    continue
                s, rr = res[it['id']]
                al = P.alerts_from_flags(np.flatnonzero((np.nan_to_num(s) > z) | rr))
                n_al += len(al)
                weeks += len(s) / 7
                dates.update(str(it['dates'][a].date()) for a, _ in al)
            rows.append(dict(z=z, source=src, alerts_per_1k_sw=1000 * n_al / weeks,
                             top_dates=' '.join(f'{d}:{c}' for d, c in dates.most_common(6))))
    return pd.DataFrame(rows)


def main(args):
    cfgs = S.load_configs()
    sets = P.load_sets(args)
    z_curve(sets, cfgs[RECOMMENDED]).to_csv(os.path.join(args.out, 'zcurve.csv'), index=False)
    bg = background_alerts(sets[args.seeds[0]], cfgs[BACKGROUND])
    bg.to_csv(os.path.join(args.out, 'background.csv'), index=False)
    print(bg[['z', 'source', 'alerts_per_1k_sw']].round(1).to_string(index=False))


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
