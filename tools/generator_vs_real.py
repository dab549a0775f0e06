#!/usr/bin/python3
"""Generated against real usage: the statistics that matter to a detector, per source and per profile.

Real: the daily series of the real-usage folder (London households, Wikipedia page views, bike rentals).
Generated: `meterbench generate --scenario SCENARIO` (default datasets/scenarios/default.toml), every profile,
with its injections, whose labelled steps are left out (NaN; --keep-labels keeps them): the persistent effects
of level shifts and the like stay, as the real series keep their own oddities. Per series:

  cv            noise / level: robust noise (1.4826 MAD of first differences / sqrt 2) over the median
  noise_slope   how noise grows with level within a series: the slope of log noise on log level over
                8-week windows (0 = additive noise, 1 = multiplicative)
  zero_share    share of reported days at 0
  dies          the last 90 days have 30%+ zero days (or no reported day): the series "drifted to zero"
  weekly_amp    (max - min) / mean of the day-of-week medians of usage / its 28-day rolling median
  acf1          lag-1 autocorrelation of the residuals (usage / rolling 28-day median / weekday factor - 1)
  outlier_rate  share of days whose residual is beyond 5 robust sigma of the residuals
  trend_changes sign changes per year of the 8-week slope of log1p(usage), where both slopes move the level
                by 10% or more

The table gives the median over series (mean for zero_share and outlier_rate; the share of series for dies).
Usage (Debian python3 with numpy, pandas and h5py):
    /usr/bin/python3 tools/generator_vs_real.py ../shared/data/real-usage [--scenario FILE] [--markdown results/generator-calibration.md]
"""
import argparse
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
FILES = {'london': 'london_smart_meters_daily_kwh.csv.gz',
         'wiki': 'wikipedia_pageviews_timetk_sample.csv.gz',
         'bikes': 'uci_bike_sharing_daily.csv.gz'}
PROFILES = ['observed', 'steady', 'growing', 'weekly', 'yearly', 'intermittent', 'heavy_tailed']
COLUMNS = ['series', 'cv', 'noise_slope', 'zero_share', 'dies', 'weekly_amp', 'acf1', 'outlier_rate', 'trend_changes']


def robust_sigma(x):
    d = np.diff(x)
    d = d[np.isfinite(d)]
    if len(d) < 5:
        return np.nan
    return 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)


def rolling_median(x, window=28):
    return pd.Series(x).rolling(window, center=True, min_periods=window // 2).median().to_numpy()


def series_stats(y, day_of_week):
    """The statistics of one daily series (NaN = not reported); None when it has too few reported days."""
    ok = np.isfinite(y)
    if ok.sum() < 120:
        return None
    level = np.nanmedian(y)
    noise = robust_sigma(y)
    s = {'cv': noise / level if level > 0 else np.nan}
    # Noise against level over 8-week windows.
    logs = []
    for a in range(0, len(y) - 55, 56):
        w = y[a:a + 56]
        lv, ns = np.nanmedian(w) if np.isfinite(w).sum() > 28 else np.nan, robust_sigma(w)
        if np.isfinite(lv) and lv > 0 and np.isfinite(ns) and ns > 0:
            logs.append((np.log(lv), np.log(ns)))
    logs = np.array(logs)
    s['noise_slope'] = np.polyfit(logs[:, 0], logs[:, 1], 1)[0] if len(logs) >= 4 and np.ptp(logs[:, 0]) > 0.1 else np.nan
    s['zero_share'] = np.mean(y[ok] == 0)
    tail = y[-90:]
    s['dies'] = float(not np.isfinite(tail).any() or np.mean(tail[np.isfinite(tail)] == 0) >= 0.3)
    trend = rolling_median(y)
    ratio = np.where(trend > 0, y / np.where(trend > 0, trend, 1), np.nan)
    dow = np.array([np.nanmedian(ratio[day_of_week == d]) if np.isfinite(ratio[day_of_week == d]).any() else np.nan for d in range(7)])
    s['weekly_amp'] = (np.nanmax(dow) - np.nanmin(dow)) / np.nanmean(dow) if np.isfinite(dow).sum() == 7 and np.nanmean(dow) > 0 else np.nan
    resid = ratio / dow[day_of_week] - 1.0
    r0, r1 = resid[:-1], resid[1:]
    pair = np.isfinite(r0) & np.isfinite(r1)
    s['acf1'] = np.corrcoef(r0[pair], r1[pair])[0, 1] if pair.sum() > 30 and np.std(r0[pair]) > 0 else np.nan
    rr = resid[np.isfinite(resid)]
    mad = 1.4826 * np.median(np.abs(rr - np.median(rr))) if len(rr) else np.nan
    s['outlier_rate'] = np.mean(np.abs(rr - np.median(rr)) > 5 * mad) if mad > 0 else np.nan
    # Trend changes: sign changes of the 8-week slope of log1p(usage) where both slopes are 10%+ moves.
    blocks = [np.nanmedian(np.log1p(y[a:a + 56])) for a in range(0, len(y) - 55, 56) if np.isfinite(y[a:a + 56]).sum() > 28]
    slopes = np.diff(blocks)
    big = slopes[np.abs(slopes) >= np.log(1.1)]
    s['trend_changes'] = np.sum(np.sign(big[1:]) != np.sign(big[:-1])) / (len(y) / 365.25) if len(y) >= 365 else np.nan
    return s


def real_series(data):
    for source, name in FILES.items():
        df = pd.read_csv(os.path.join(data, name), dtype={'series': str, 'value': float}, parse_dates=['date'])
        for sid, g in df.groupby('series', sort=True):
            g = g.sort_values('date')
            idx = pd.date_range(g['date'].iloc[0], g['date'].iloc[-1], freq='D')
            yield source, g.set_index('date')['value'].reindex(idx).to_numpy(dtype=float), idx.dayofweek.to_numpy()


def generated_series(args):
    h5 = os.path.join(args.work, 'generated.h5')
    subprocess.run([args.cli, 'generate', '--scenario', args.scenario, '--series', str(args.series), '--days', '730',
                    '--out', h5, '--force', '--log-level', 'warn'], check=True, stdout=subprocess.DEVNULL)
    with h5py.File(h5, 'r') as f:
        values = f['values'][:].astype(float)
        if args.mask_labels:  # the injected anomalies' windows: compare backgrounds with backgrounds
            values[f['labels'][:] != 0] = np.nan
        profiles = f['series']['profile'][:]
        start = pd.Timestamp(f.attrs['start_unix_seconds'] if 'start_unix_seconds' in f.attrs else 0, unit='s') \
            if 'start_unix_seconds' in f.attrs else pd.Timestamp('2024-01-01')
    dow = pd.date_range(start, periods=values.shape[1], freq='D').dayofweek.to_numpy()
    for i in range(values.shape[0]):
        yield 'generated ' + PROFILES[profiles[i]], values[i], dow


def summarise(rows):
    df = pd.DataFrame(rows)
    out = {'series': len(df)}
    for c in COLUMNS[1:]:
        v = df[c].dropna()
        out[c] = (v.mean() if c in ('zero_share', 'outlier_rate', 'dies') else v.median()) if len(v) else np.nan
    return out


def table(groups):
    lines = ['| set | ' + ' | '.join(COLUMNS) + ' |', '| --- |' + ' ---: |' * len(COLUMNS)]
    for name, rows in groups:
        s = summarise(rows)
        cells = [str(s['series'])] + [f'{s[c]:.3f}' if np.isfinite(s[c]) else 'n/a' for c in COLUMNS[1:]]
        lines.append(f'| {name} | ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data', help='the real-usage folder (e.g. ../shared/data/real-usage)')
    p.add_argument('--scenario', default=os.path.join(ROOT, 'datasets', 'scenarios', 'default.toml'))
    p.add_argument('--series', type=int, default=2000, help='generated series (default: %(default)s)')
    p.add_argument('--cli', default=os.path.join(ROOT, 'build', 'release', 'tools', 'meterbench'))
    p.add_argument('--work', default=os.path.join(ROOT, 'out', 'generator_vs_real'))
    p.add_argument('--markdown', help='also write the table to this file')
    p.add_argument('--keep-labels', dest='mask_labels', action='store_false',
                   help="keep the generated series' labelled (injected) steps; by default they are left out (NaN)")
    args = p.parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f'no real-usage folder at {args.data}')
    os.makedirs(args.work, exist_ok=True)
    by_set = {}
    for name, y, dow in list(real_series(args.data)) + list(generated_series(args)):
        s = series_stats(y, dow)
        if s is not None:
            by_set.setdefault(name, []).append(s)
            by_set.setdefault('real (all)' if not name.startswith('generated') else 'generated (all)', []).append(s)
    order = ['london', 'wiki', 'bikes', 'real (all)', 'generated (all)'] + ['generated ' + p for p in PROFILES[1:]]
    text = table([(n, by_set[n]) for n in order if n in by_set])
    print(text)
    if args.markdown:
        with open(args.markdown, 'w') as f:
            f.write(text + '\n')


if __name__ == '__main__':
    main()
