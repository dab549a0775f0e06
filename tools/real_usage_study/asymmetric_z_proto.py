#!/usr/bin/python3
"""A mixed result, kept so that it can be repeated: a lower threshold for drops than for rises.

On the log scale a drop of k sigma is a larger deviation than a rise of k sigma, and gam at the z shipped then (16.75)
catches few dips of the issue's mix. This flags a step when its score is above z_up for values at or above gam's
expected value, above z_down below it, for a few (z_up, z_down) pairs, from gam's own bands (the Python module).
Result (results/README.md, "On the issue's own kind mix"): z_down 12 gains on page views and London, loses on the
bike data (the 2012 hurricane's dips), so the shipped z stays symmetric.

    /usr/bin/python3 tools/real_usage_study/asymmetric_z_proto.py --out OUT [--kinds ...]

OUT is a study folder (run_study.py --steps cli with the same --kinds builds its sets). Prints F1 / false alerts per
1,000 series-weeks per source, averaged over seeds and halves.
"""
import os
import sys

import numpy as np
import pandas as pd

import protocol as P

sys.path.insert(0, os.path.join(P.ROOT, 'build', 'release', 'python'))
from meterbench import _core  # noqa: E402

BEFORE = ['tail_scale=off', 'z=16.75']  # the defaults this was measured on (before the tail scale of 2026-12-07)
PAIRS = [(16.75, 16.75), (16.75, 12), (16.75, 10), (16.75, 8), (14, 10), (12, 12)]


def main(args):
    sums = {}
    for seed, items in P.load_sets(args).items():
        cached = []
        for it in items:
            v = np.asarray(it['values'], np.float32)
            b = _core.fit(v[None, :], int(pd.Timestamp(it['dates'][0]).timestamp()), 86400, 'gam', BEFORE, 'retrospective',
                          52, 1)
            expected, score = np.asarray(b['expected'])[0], np.nan_to_num(np.asarray(b['score'])[0], nan=0.0)
            cached.append((it['id'], score, np.isfinite(v) & (v >= expected)))
        for up_z, down_z in PAIRS:
            flags = {i: np.where(up, s > up_z, s > down_z) for i, s, up in cached}
            ev = pd.concat([P.evaluate(items, flags, sources=(src,), half=h) for src in P.SOURCES for h in (0, 1)])
            sums.setdefault((up_z, down_z), []).append(ev.groupby(level=0)[['F1', 'FA_per_1k_sw']].mean())
    for (up_z, down_z), parts in sums.items():
        g = sum(parts) / len(parts)
        print(f'z up {up_z:5} down {down_z:5}', ' '.join(f"{src} {g.loc[src, 'F1']:.3f}/{g.loc[src, 'FA_per_1k_sw']:.1f}"
                                                        for src in P.SOURCES), flush=True)


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
