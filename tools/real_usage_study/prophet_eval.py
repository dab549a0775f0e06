#!/usr/bin/python3
"""R prophet (Debian r-cran-prophet, defaults, 0.99 interval) as a peer under the study protocol.

For each seed: write every injected series as <out>/prophet/s<seed>/in/<id>.csv, fit prophet per series
(prophet_band.R; about 2 s of CPU per series, resumable), flag the observed days outside the 0.99 band, and
score both halves with the protocol's event scoring. Prophet has no setting tuned here (the band is fixed at
0.99), so each half is a test fold. Writes <out>/prophet_raw.csv and <out>/prophet_summary.csv.
"""
import os
import subprocess
import numpy as np
import pandas as pd
import protocol as P

HERE = os.path.dirname(os.path.abspath(__file__))


def file_name(series_id):
    return series_id.replace('/', '_').replace('#', '_r') + '.csv'


def main(args):
    rows = []
    for seed, items in P.load_sets(args).items():
        base = os.path.join(args.out, 'prophet', f's{seed}')
        ind, outd = os.path.join(base, 'in'), os.path.join(base, 'band')
        os.makedirs(ind, exist_ok=True)
        for it in items:
            p = os.path.join(ind, file_name(it['id']))
            if not os.path.exists(p):
                pd.DataFrame({'ds': it['dates'].strftime('%Y-%m-%d'), 'y': it['values']}).to_csv(p, index=False, na_rep='NA')
        subprocess.run(['nice', '-n', '10', 'Rscript', os.path.join(HERE, 'prophet_band.R'), ind, outd], check=True)
        flags = {}
        for it in items:
            p = os.path.join(outd, file_name(it['id']))
            y = it['values']
            if not os.path.exists(p):
                flags[it['id']] = np.zeros(len(y), bool)
                continue
            band = pd.read_csv(p)
            with np.errstate(invalid='ignore'):
                flags[it['id']] = np.isfinite(y) & ((y > band['upper'].to_numpy()) | (y < band['lower'].to_numpy()))
        for half in (0, 1):
            res = P.evaluate(items, flags, half=half)
            for src, r in res.iterrows():
                rows.append(dict(r.to_dict(), source=src, seed=seed, half=half, family='R prophet, 0.99 band'))
        print(f'prophet: seed {seed} done', flush=True)
    df = pd.DataFrame(rows)
    df.to_csv(os.path.join(args.out, 'prophet_raw.csv'), index=False)
    summary = df.groupby('source', sort=False)[['P', 'R', 'F1', 'FA_per_1k_sw']].mean()
    summary.to_csv(os.path.join(args.out, 'prophet_summary.csv'))
    print(summary.round(3).to_string())


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
