#!/usr/bin/python3
"""A band whose sides are as wide as the series' tails, measured on the study's sets (the engine's `tail_scale=on`
computes the same widening from its own residuals: results/README.md, "A band as wide as each side's tails").

gam's band scale is 1.4826 x the MAD of its residuals: it ignores how often a series deviates by a lot, and in
which direction, so one z must serve light-tailed page views, page views with news days above and London
households with weeks away below. This prototype widens each side of a series' band by max(1, q95 / 1.96), q95 the
95th percentile of that side's scores (1.96 for normal residuals; `--symmetric`: one factor from all |scores|, the
first version), and tries lower z, on gam's own signed scores from the Python module (transform, weekday factors and
rules as shipped; the run score recomputed from the signed scores as the engine does, each window's mean against
the side it falls on). z is chosen per fold on the tuning half (best mean F1 over the sources) and reported on the
test half.

    /usr/bin/python3 tools/real_usage_study/tail_scale_proto.py --out OUT [--kinds ...] [--symmetric]

OUT is a study folder (run_study.py --steps cli with the same --kinds builds its sets). Prints, per z, F1 per
source over both halves, then the test halves at the z chosen on the tuning halves, with and without the tail
scale.
"""
import os
import sys

import numpy as np
import pandas as pd

import protocol as P

sys.path.insert(0, os.path.join(P.ROOT, 'build', 'release', 'python'))
from meterbench import _core  # noqa: E402

Q95_NORMAL = 1.959964  # the 95th percentile of |N(0, 1)|
GRID = {'shipped': (10, 12, 14, 16.75, 20), 'tail scale': (5, 6, 7, 8, 9, 10, 12)}


def fit(it, settings):
    v = np.asarray(it['values'], np.float32)
    b = _core.fit(v[None, :], int(pd.Timestamp(it['dates'][0]).timestamp()), 86400, 'gam', settings, 'retrospective',
                  52, 1)
    return np.asarray(b['expected'])[0], np.asarray(b['score'])[0]


def run_score(e, w, clip=10.0):
    """sqrt(w) x the mean of the clipped signed scores over centred windows with >= max(2, 2w/3) scored steps."""
    m = pd.Series(np.clip(e, -clip, clip)).rolling(w, center=True, min_periods=max(2, -(-2 * w // 3))).mean()
    return np.sqrt(w) * np.nan_to_num(m.to_numpy(), nan=0.0)


def widen(a):
    return max(1.0, np.quantile(a, 0.95) / Q95_NORMAL) if len(a) >= 20 else 1.0


def series_scores(it, symmetric):
    """The signed scores of the shipped band (point, run over 3 and 7), the rule flags, and each side's factor."""
    v = np.asarray(it['values'], np.float32)
    expected, point = fit(it, ['run_score=off', 'rules=off', 'tail_scale=off', 'z=1'])
    e = np.where(np.isfinite(v), np.where(v >= expected, 1.0, -1.0) * point, np.nan)
    _, shipped = fit(it, ['tail_scale=off', 'z=1'])
    rule = np.nan_to_num(shipped, nan=0.0) >= 1000
    f = e[np.isfinite(e)]
    up, down = (widen(np.abs(f)),) * 2 if symmetric else (widen(f[f > 0]), widen(-f[f < 0]))
    return np.stack([np.nan_to_num(e), run_score(e, 3), run_score(e, 7)]), rule, up, down


def flags(scores, rule, up, down, z):
    return rule | (scores > z * up).any(axis=0) | (scores < -z * down).any(axis=0)


def main(args):
    rows = []
    for seed, items in P.load_sets(args).items():
        cached = {it['id']: series_scores(it, args.symmetric) for it in items}
        for name, zs in GRID.items():
            for z in zs:
                fl = {i: flags(sc, rule, *((up, down) if name == 'tail scale' else (1.0, 1.0)), z)
                      for i, (sc, rule, up, down) in cached.items()}
                for half in (0, 1):
                    ev = P.evaluate(items, fl, half=half)
                    rows += [dict(variant=name, z=z, seed=seed, half=half, source=src, F1=ev.loc[src, 'F1'],
                                  FA=ev.loc[src, 'FA_per_1k_sw']) for src in P.SOURCES]
    df = pd.DataFrame(rows)
    pd.set_option('display.width', 200)
    print('F1 over both halves, per z:')
    print(df.groupby(['variant', 'z', 'source']).F1.mean().unstack().round(3).to_string())
    tests = []
    for (name, seed), g in df.groupby(['variant', 'seed']):
        for tune in (0, 1):
            z = g[g.half == tune].groupby('z').F1.mean().idxmax()
            t = g[(g.half == 1 - tune) & (g.z == z)].set_index('source')
            tests.append(dict(variant=name, seed=seed, tune_half=tune, z=z, **{s: t.loc[s, 'F1'] for s in P.SOURCES}))
    t = pd.DataFrame(tests)
    print('\nTest halves at the z chosen on the tuning halves:')
    print(t.round(3).to_string(index=False))
    print(t.groupby('variant')[list(P.SOURCES)].mean().round(3).to_string())


def add_args(parser):
    parser.add_argument('--symmetric', action='store_true', help='one factor for both sides, from all |scores|')


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0], add_args))
