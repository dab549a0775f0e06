#!/usr/bin/python3
"""How much of an injected anomaly gam's fit absorbs, and how high the anomaly scores, under the study protocol.

    PYTHONPATH=build/release/python /usr/bin/python3 tools/real_usage_study/absorption.py --out OUT \\
        [--kinds ...] [--seeds 16] [--set yearly_min_days=548 ...]

For each injected event of the cached sets (run_study.py builds them under OUT/sets), the series is fitted
(`meterbench.fit`, retrospective, the given settings over the shipped defaults) with and without its injections;
absorbed = mean(expected with - expected without) / mean(injected - clean) over the event's days (0: the fit
ignores the anomaly, 1: it follows it). Prints, per source and kind, the median share absorbed and the share of
events whose highest score in [start, end + 7 days] passes the flag threshold z.
"""
import numpy as np
import pandas as pd
import protocol as P
import meterbench


def add_args(parser):
    parser.add_argument('--set', action='append', default=[], metavar='NAME=VALUE', help='a gam setting (repeatable)')


def frame(items, key):
    parts = []
    for it in items:
        v = it[key]
        ok = np.isfinite(v)
        parts.append(pd.DataFrame(dict(customer=it['source'], meter=it['id'], date=it['dates'][ok], quantity=v[ok],
                                       price=1.0)))
    return pd.concat(parts)


def on_own_days(fitted, it, column):
    """The fitted column over the series' own days (the dataset's grid may be longer)."""
    g = fitted[fitted['meter'] == it['id']]
    dates = g['date'].dt.tz_localize(None) if g['date'].dt.tz is not None else g['date']
    i = (dates - it['dates'][0]).dt.days.to_numpy()
    keep = (i >= 0) & (i < len(it['values']))
    out = np.full(len(it['values']), np.nan)
    out[i[keep]] = g[column].to_numpy()[keep]
    return out


def main(args):
    params = dict(s.split('=', 1) for s in args.set)
    z = float(params.get('z', 7))
    rows = []
    for seed, items in P.load_sets(args).items():
        for src in P.SOURCES:
            its = [i for i in items if i['source'] == src]
            with_anomalies = meterbench.fit(frame(its, 'values'), params=params)
            clean = meterbench.fit(frame(its, 'clean'), params=params)
            for it in its:
                score = on_own_days(with_anomalies, it, 'score')
                expected = on_own_days(with_anomalies, it, 'expected')
                expected_clean = on_own_days(clean, it, 'expected')
                for kind, a, b in it['events']:
                    window = score[a:min(b + P.TOL, len(score))]
                    injected = np.nanmean(it['values'][a:b] - it['clean'][a:b])
                    rows.append(dict(source=src, kind=kind, seed=seed,
                                     absorbed=np.nanmean(expected[a:b] - expected_clean[a:b]) / injected if injected else np.nan,
                                     flagged=bool(np.nanmax(window) > z) if np.isfinite(window).any() else False))
    d = pd.DataFrame(rows)
    table = d.groupby(['source', 'kind']).agg(events=('flagged', 'size'), absorbed_median=('absorbed', 'median'),
                                              flagged=('flagged', 'mean'))
    pd.set_option('display.width', 200)
    print(f'settings {params or "(shipped defaults)"}:')
    print(table.round(2).to_string())
    for kind in ('level_shift', 'double'):
        k = d[d['kind'] == kind]
        if len(k):
            print(f'{kind}: median absorbed {k["absorbed"].median():.2f}, flagged {k["flagged"].mean():.3f} ({len(k)} events)')


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0], add_args))
