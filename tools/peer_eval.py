#!/usr/bin/python3
"""Peers scored like meterbench: meterbench's event metrics in Python, R prophet on meterbench datasets.

The scorer is docs/metrics.md's event-wise evaluation for the retrospective schedule: a step is flagged when
its score > z; an alert is a run of flags that an observed unflagged step, or more than 2 missing steps in a
row, ends; an event (any anomaly kind, not a gap) is caught when a flag lies in [start, min(end, start + k)]
(k = 7 steps); an alert overlapping an event window is true, else one overlapping a do-not-care region (the
tail of a level shift, trend or seasonality change: up to its effect end, at most 4 weeks, never into the next
anomaly) is neither, else it is false; false alerts per 1,000 series-weeks over each series' span from its
first to its last scored step. A missing step counts as scored when the detector gave it a score (a rule
alert on a meter that stopped reporting). With --half, only the series of that half of sweep's split (the
hash of customer and meter) count.

Subcommands:
  score   DATA BANDS --z Z [--half test] [--rows-of WORK]   score a backtest's flags from its bands.h5 (--save-bands); compare
                                           with its summary.json (--summary) to check this scorer
  prophet DATA --work DIR [--half test]    export each series to DIR/in/<row>.csv (ds,y; NA = missing), run
                                           tools/real_usage_study/prophet_band.R (prophet defaults, 0.99
                                           interval; resumable), flag observed steps outside the band, score
Needs Debian's python3 with h5py, numpy and pandas, and Rscript with r-cran-prophet for `prophet`.
"""
import argparse
import json
import os
import subprocess
import sys

import h5py
import numpy as np
import pandas as pd

HERE = os.path.dirname(os.path.abspath(__file__))
NORMAL, GAP = 0, 11
PERSISTENT = {3, 4, 5}  # level_shift, trend_change, seasonality_change
DELAY_K, MERGE_GAP, DONT_CARE_STEPS, STEPS_PER_WEEK = 7, 2, 28, 7
MASK = (1 << 64) - 1


def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & MASK
    return x ^ (x >> 31)


def split_half(customer, meter):
    """sweep's split (engine/meterbench/sweep/sweep.cpp split_half): FNV-1a over customer \\0 meter, mix64."""
    h = 0xCBF29CE484222325
    for c in customer:
        h = ((h ^ c) * 0x100000001B3) & MASK
    h = (h * 0x100000001B3) & MASK
    for c in meter:
        h = ((h ^ c) * 0x100000001B3) & MASK
    return 'tuning' if (mix64(h) >> 63) == 0 else 'test'


class Dataset:
    def __init__(self, path):
        self.f = h5py.File(path, 'r')
        self.values = self.f['values']
        series = self.f['series'][:]
        self.ids = self.series_ids(series)
        self.first_event = series['first_event'].astype(np.int64)
        self.event_count = series['event_count'].astype(np.int64)
        self.events = self.f['events'][:]
        self.start = pd.Timestamp(self.f.attrs['start'].decode())
        self.steps = int(self.f.attrs['steps'])

    def series_ids(self, series):
        """(customer, meter) of each series as bytes: format 3's text table, or format 2's fixed 64-byte fields."""
        if 'series_text' not in self.f:
            return [(bytes(s['customer_id']).rstrip(b'\0'), bytes(s['meter_id']).rstrip(b'\0')) for s in series]
        width = len(self.f.attrs['series_text_columns'])
        starts = self.f['series_text_offsets'][:].astype(np.int64)
        text = self.f['series_text'][:].tobytes()
        ends = np.append(starts[1:], len(text))
        return [(text[starts[i * width]:ends[i * width]], text[starts[i * width + 1]:ends[i * width + 1]])
                for i in range(len(series))]

    def rows(self, half):
        return [i for i, (c, m) in enumerate(self.ids) if half is None or split_half(c, m) == half]

    def series_events(self, i):
        return self.events[self.first_event[i]:self.first_event[i] + self.event_count[i]]


def score_series(values, score, z, events):
    """Counts of one series: events, caught, true/false/do-not-care alerts, covered steps."""
    n = len(values)
    anomalies = [(int(e['start']), int(e['end']), int(e['effect_end']), int(e['kind'])) for e in events
                 if int(e['kind']) not in (NORMAL, GAP)]
    event_cov = np.zeros(n + 1, np.int64)
    ignored_cov = np.zeros(n + 1, np.int64)
    for j, (s, e, effect_end, kind) in enumerate(anomalies):
        if e >= s:
            event_cov[s] += 1
            event_cov[e + 1] -= 1
        if kind in PERSISTENT:
            last = min(effect_end, e + DONT_CARE_STEPS)
            for s2, _, _, _ in anomalies[j + 1:]:
                if s2 > e:
                    last = min(last, s2 - 1)
                    break
            if e + 1 <= last:
                ignored_cov[e + 1] += 1
                ignored_cov[min(last, n - 1) + 1] -= 1
    in_event = np.cumsum(event_cov[:n]) > 0
    in_ignored = np.cumsum(ignored_cov[:n]) > 0
    scored = ~(np.isnan(values) & np.isnan(score))
    with np.errstate(invalid='ignore'):
        flagged = scored & (score > z)
    alerts, open_alert, missing_run = [], False, 0
    for t in range(n):
        if not scored[t]:
            missing_run += 1
            if missing_run > MERGE_GAP:
                open_alert = False
            continue
        missing_run = 0
        if flagged[t]:
            if open_alert:
                alerts[-1][1] = t
            else:
                alerts.append([t, t])
                open_alert = True
        else:
            open_alert = False
    c = dict(events=0, caught=0, true_alerts=0, false_alerts=0, dont_care_alerts=0, covered_steps=0)
    for a, b in alerts:
        if in_event[a:b + 1].any():
            c['true_alerts'] += 1
        elif in_ignored[a:b + 1].any():
            c['dont_care_alerts'] += 1
        else:
            c['false_alerts'] += 1
    for s, e, _, _ in anomalies:
        if e < s:
            continue
        c['events'] += 1
        c['caught'] += int(flagged[s:min(e, s + DELAY_K, n - 1) + 1].any())
    idx = np.flatnonzero(scored)
    if len(idx):
        c['covered_steps'] = int(idx[-1] - idx[0] + 1)
    return c


def metrics(counts):
    tot = pd.DataFrame(counts).sum()
    p = tot.true_alerts / (tot.true_alerts + tot.false_alerts) if tot.true_alerts + tot.false_alerts else float('nan')
    r = tot.caught / tot.events if tot.events else float('nan')
    f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
    fa = float(tot.false_alerts) * 1000.0 * STEPS_PER_WEEK / float(tot.covered_steps)  # report.cpp's order of operations
    return dict(series=len(counts), events=int(tot.events), caught=int(tot.caught), true_alerts=int(tot.true_alerts),
                false_alerts=int(tot.false_alerts), precision=p, recall=r, f1=f1, false_alerts_per_1000_series_weeks=fa)


def score_bands(args):
    ds = Dataset(args.data)
    bands = h5py.File(args.bands, 'r')['score']
    rows = ds.rows(args.half)
    if args.rows_of:  # the series a (partial) prophet run finished, to compare on the same series
        rows = [i for i in rows if os.path.exists(os.path.join(args.rows_of, 'band', f'{i:07d}.csv'))]
    counts = []
    for i in rows:
        v = ds.values[i].astype(np.float64)
        s = bands[i].astype(np.float64)
        counts.append(score_series(v, s, args.z, ds.series_events(i)))
    m = metrics(counts)
    out = dict(scorer=m)
    if args.summary:
        ref = json.load(open(args.summary))['metrics']
        ev = ref['event']
        out['backtest'] = dict(events=ev['events'], precision=ev['precision'], recall=ev['recall'], f1=ev['f1'],
                               false_alerts_per_1000_series_weeks=ref['false_alerts_per_1000_series_weeks'])
    print(json.dumps(out, indent=1, default=float))


def prophet(args):
    ds = Dataset(args.data)
    ind, outd = os.path.join(args.work, 'in'), os.path.join(args.work, 'band')
    os.makedirs(ind, exist_ok=True)
    rows = ds.rows(args.half)
    if args.limit:
        rows = rows[:args.limit]
    dates = (ds.start + pd.to_timedelta(np.arange(ds.steps), unit='D')).strftime('%Y-%m-%d')
    for i in rows:
        p = os.path.join(ind, f'{i:07d}.csv')
        if not os.path.exists(p):
            pd.DataFrame({'ds': dates, 'y': ds.values[i]}).to_csv(p, index=False, na_rep='NA')
    if not args.score_only:
        subprocess.run(['nice', '-n', '10', 'Rscript', os.path.join(HERE, 'real_usage_study', 'prophet_band.R'), ind, outd], check=True)
    if args.score_only:  # a run cut short: score the series prophet has finished
        rows = [i for i in rows if os.path.exists(os.path.join(outd, f'{i:07d}.csv'))]
    counts = []
    for i in rows:
        p = os.path.join(outd, f'{i:07d}.csv')
        v = ds.values[i].astype(np.float64)
        score = np.where(np.isnan(v), np.nan, 0.0)  # fewer than 14 observed days: prophet does not fit, no flags
        if os.path.exists(p):
            band = pd.read_csv(p)
            with np.errstate(invalid='ignore'):
                outside = (v > band['upper'].to_numpy()) | (v < band['lower'].to_numpy())
            score = np.where(np.isnan(v), np.nan, outside.astype(np.float64))
        counts.append(score_series(v, score, 0.5, ds.series_events(i)))
    m = metrics(counts)
    m['model'] = 'R prophet 0.99'
    m['half'] = args.half or 'all'
    print(json.dumps(m, default=float))
    with open(os.path.join(args.work, 'metrics.json'), 'w') as f:
        json.dump(m, f, default=float, indent=1)


def main():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0], formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    sub = p.add_subparsers(dest='cmd', required=True)
    s = sub.add_parser('score')
    s.add_argument('data')
    s.add_argument('bands')
    s.add_argument('--z', type=float, required=True)
    s.add_argument('--half', choices=['tuning', 'test'])
    s.add_argument('--summary', help="the backtest's summary.json, to compare")
    s.add_argument('--rows-of', metavar='WORK', help='only the series whose prophet band is in WORK/band (of `prophet --work WORK`)')
    q = sub.add_parser('prophet')
    q.add_argument('data')
    q.add_argument('--work', required=True)
    q.add_argument('--half', choices=['tuning', 'test'])
    q.add_argument('--limit', type=int, default=0, help='only the first N series of the half (0 = all)')
    q.add_argument('--score-only', action='store_true', help='score the series whose band is written, without running R')
    args = p.parse_args()
    score_bands(args) if args.cmd == 'score' else prophet(args)


if __name__ == '__main__':
    sys.exit(main())
