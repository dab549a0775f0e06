#!/usr/bin/python3
"""A negative result, kept so that it can be repeated: a run rule on the ratio to gam's expected value.

Flags runs of days with y >= T x expected (and, with --low, y <= Tl x expected) when the run is longer than the
series' own habit makes likely (the run length that days above T, as frequent as in the series, reach by chance in
one series of 100: the stuck rule's calibration), on top of gam's flags at its shipped z. Meant for double counting
(x2 over 3-14 days) and sustained shifts, which gam at the z shipped then (16.75) mostly misses on the issue's kind mix. It loses:
real usage has runs of high days far more often than independent days would (cold weeks, news weeks), so the
false alerts grow faster than the recall (results/README.md, "On the issue's own kind mix").

    /usr/bin/python3 tools/real_usage_study/ratio_rule_proto.py --out OUT [--kinds ...]

OUT is a study folder (run_study.py --steps cli with the same --kinds builds its sets). Needs the Python module
(build/release/python). Prints F1 / precision / false alerts per 1,000 series-weeks per source and seed, averaged
over the two halves.
"""
import math
import os
import sys

import numpy as np
import pandas as pd

import protocol as P

sys.path.insert(0, os.path.join(P.ROOT, 'build', 'release', 'python'))
from meterbench import _core  # noqa: E402

Z = 16.75


def bands(values, first_day):
    b = _core.fit(np.asarray(values, np.float32)[None, :], int(pd.Timestamp(first_day).timestamp()), 86400, 'gam',
                  ['tail_scale=off', 'z=16.75'],  # the defaults this was measured on (before the tail scale of 2026-12-07)
                  'retrospective', 52, 1)
    return np.asarray(b['expected'])[0], np.asarray(b['score'])[0]


def runs_of(mask):
    out, i, n = [], 0, len(mask)
    while i < n:
        if mask[i]:
            j = i
            while j < n and mask[j]:
                j += 1
            out.append((i, j))
            i = j
        else:
            i += 1
    return out


def ratio_rule(v, e, t, low=False, chance=0.01, shortest=3):
    obs = np.isfinite(v)
    r = np.where(obs, v / np.maximum(e, 1e-9), np.nan)
    m = ((r <= t) if low else (r >= t)) & obs
    n = int(obs.sum())
    p = max(m.sum() / max(n, 1), 1e-3)
    flags = np.zeros(len(v), bool)
    if p >= 1:
        return flags
    length = max(shortest, math.ceil(math.log(chance / n) / math.log(p)))
    for a, b in runs_of(m):
        if b - a >= length:
            flags[a:b] = True
    return flags


CONFIGS = {'gam at z 16.75': [], 'x1.5 runs': [(1.5, False)], 'x1.7 runs': [(1.7, False)],
           'x1.5 and x0.6 runs': [(1.5, False), (0.6, True)]}


def main(args):
    for seed, items in P.load_sets(args).items():
        flags = {c: {} for c in CONFIGS}
        for it in items:
            v = np.asarray(it['values'], float)
            e, s = bands(v, it['dates'][0])
            base = np.nan_to_num(s, nan=0.0) > Z
            for c, rules in CONFIGS.items():
                f = base.copy()
                for t, low in rules:
                    f |= ratio_rule(v, e, t, low)
                flags[c][it['id']] = f
        for c in CONFIGS:
            ev = pd.concat([P.evaluate(items, flags[c], sources=(src,), half=h) for src in P.SOURCES for h in (0, 1)])
            g = ev.groupby(level=0)[['F1', 'P', 'FA_per_1k_sw']].mean()
            print(f'seed {seed} {c:20s}', ' '.join(f"{src} {g.loc[src, 'F1']:.3f}/{g.loc[src, 'P']:.2f}/"
                                                   f"{g.loc[src, 'FA_per_1k_sw']:.1f}" for src in P.SOURCES), flush=True)


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
