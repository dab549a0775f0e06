#!/usr/bin/python3
"""Semi-synthetic evaluation protocol on real usage backgrounds, and the options shared by the study's scripts.

Load real daily usage series, pick a seeded sample per source, inject labelled anomalies, and score flags.
The data are read from --data (default ../shared/data/real-usage relative to the repository root) and never
copied; the injected sets are cached as pickles under <--out>/sets/.

Sample: 120 London households (seeded), all 10 wiki series, all 3 bike series. Wiki and bikes are too few
series for stable numbers, so each background gets R independent injection replicates (wiki 8, bikes 8,
London 1); a replicate is a separate series "id#r". "small": the wiki and bike backgrounds binomially thinned
to a median of 5 per day (real shapes at small counts), 4 replicates each.
Split: tuning / test half by md5(id) (base id for London and wiki, so replicates of one background stay in
one half; id#r for bikes and small, whose 3 backgrounds cannot be split in halves: tune and test share backgrounds there).

Injected kinds (1-3 per series, non-overlapping with >= 14 days between, none in the first 42 days):
  spike        +k sigma on 1-3 days                    k ~ U[4, 10]
  dip          -k sigma on 1-3 days (clipped at 0)     k ~ U[4, 10]
  level_shift  +-k sigma over 14-42 days               k ~ U[4, 10]
  unit_x1000   x1000 on 1-3 days
  unit_d1000   /1000 on 1-3 days
  zero         0 on 3-14 days (dropped reporting recorded as zeros)
  double       x2 on 3-14 days (double counting)
  stuck        the last reading repeated for 7-14 days (stuck meter)
  stopped      NaN over the last 14-56 days of the series after regular reporting (meter goes silent; at most
               one per series, at the series' end: retrospectively a gap that never resumes)
sigma = robust local noise: 1.4826 * MAD of first differences / sqrt(2) over +-28 days around the event
(original units). 30% of series get an extra unlabelled 14-56 day NaN gap in the middle (plain gap).

Scoring: flags (series, day) merge into alerts (runs of flags with gaps of <= 2 days between them). An event
is caught when a flag falls in [start, end + 7 days]. precision = alerts overlapping an event window / alerts;
recall = caught events / events; F1; false alerts per 1,000 series-weeks (series-weeks = days of the series'
span / 7).
"""
import argparse
import hashlib
import os
import pickle
import numpy as np
import pandas as pd

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
DEFAULT_DATA = os.path.normpath(os.path.join(ROOT, '..', 'shared', 'data', 'real-usage'))
DEFAULT_CLI = os.path.join(ROOT, 'build', 'release', 'tools', 'meterbench')
DEFAULT_OUT = os.path.join(ROOT, 'out', 'real_usage_study')
SOURCES = ('london', 'wiki', 'bikes', 'small')
FILES = {'london': 'london_smart_meters_daily_kwh.csv.gz',
         'wiki': 'wikipedia_pageviews_timetk_sample.csv.gz',
         'bikes': 'uci_bike_sharing_daily.csv.gz'}
SAMPLE = {'london': 120, 'wiki': None, 'bikes': None, 'small': None}
REPLICATES = {'london': 1, 'wiki': 8, 'bikes': 8, 'small': 4}
SMALL_MEDIAN = 5.0  # 'small': wiki + bike backgrounds binomially thinned to a median of 5 per day (real shapes, small counts)
KINDS = ['spike', 'dip', 'level_shift', 'unit_x1000', 'unit_d1000', 'zero', 'double', 'stuck', 'stopped']
TOL = 7
MERGE_GAP = 2
SEEDS = (16, 17)


def add_common_args(parser):
    """The options every script of the study takes."""
    parser.add_argument('--data', default=DEFAULT_DATA, help='folder of the real-usage CSVs (default: %(default)s)')
    parser.add_argument('--cli', default=DEFAULT_CLI, help='meterbench binary (default: %(default)s)')
    parser.add_argument('--out', default=DEFAULT_OUT, help='output folder (default: %(default)s)')
    parser.add_argument('--seeds', type=int, nargs='+', default=list(SEEDS),
                        help='injection seeds (default: 16 17); each seed gives 2 test folds')
    parser.add_argument('--london', type=int, default=SAMPLE['london'],
                        help='London households sampled (default: %(default)s; fewer for a quick run)')
    parser.add_argument('--kinds', default=','.join(KINDS),
                        help='comma-separated injected kinds among the default %(default)s (e.g. the issue\'s judging '
                             'mix: spike,dip,level_shift,unit_x1000,zero,double)')
    return parser


def parse_args(description, extra=None):
    parser = add_common_args(argparse.ArgumentParser(description=description))
    if extra:
        extra(parser)
    return parser.parse_args()


def load_source(data, src):
    df = pd.read_csv(os.path.join(data, FILES[src]), dtype={'series': str, 'value': float})
    df['date'] = pd.to_datetime(df['date'])
    out = {}
    for sid, g in df.groupby('series', sort=True):
        g = g.sort_values('date')
        idx = pd.date_range(g['date'].iloc[0], g['date'].iloc[-1], freq='D')
        v = g.set_index('date')['value'].reindex(idx).to_numpy(dtype=float)
        out[sid] = (idx, v)
    return out


def robust_sigma(v, a, b, w=28):
    lo, hi = max(0, a - w), min(len(v), b + w)
    seg = v[lo:hi]
    d = np.diff(seg)
    d = d[np.isfinite(d)]
    if len(d) < 5:
        d = np.diff(v)
        d = d[np.isfinite(d)]
    s = 1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2)
    if not np.isfinite(s) or s <= 0:
        s = 1.4826 * np.nanmedian(np.abs(v - np.nanmedian(v))) + 1e-6
    return s


def _place(rng, n, used, length, lo=42, hi=None, gap=14):
    hi = n - length if hi is None else hi
    for _ in range(200):
        if hi <= lo:
            return None
        a = int(rng.integers(lo, hi))
        b = a + length  # exclusive
        if all(b + gap <= u0 or a >= u1 + gap for (u0, u1) in used):
            return a
    return None


def inject(v, rng, mix=KINDS):
    """Returns (new values, events [(kind, a, b_exclusive)], plain gap or None); kinds drawn uniformly from `mix`."""
    v = v.copy()
    n = len(v)
    used = []
    events = []
    k = int(rng.integers(1, 4))
    kinds = list(rng.choice(mix, size=k, replace=True))
    # at most one stopped; place it first (at the end)
    if kinds.count('stopped') > 1:
        kinds = ['stopped'] + [x for x in kinds if x != 'stopped'] + \
            list(rng.choice([x for x in mix if x != 'stopped'], size=kinds.count('stopped') - 1))
    kinds.sort(key=lambda x: x != 'stopped')
    orig = v.copy()
    for kind in kinds:
        if kind == 'stopped':
            L = int(rng.integers(14, 57))
            a = n - L
            # regular reporting before: >= 90% observed over the 56 days before
            if np.isfinite(orig[a - 56:a]).mean() < 0.9:
                continue
            v[a:] = np.nan
            used.append((a, n))
            events.append((kind, a, n))
            continue
        if kind in ('spike', 'dip', 'unit_x1000', 'unit_d1000'):
            L = int(rng.integers(1, 4))
        elif kind == 'level_shift':
            L = int(rng.integers(14, 43))
        elif kind in ('zero', 'double'):
            L = int(rng.integers(3, 15))
        else:  # stuck
            L = int(rng.integers(7, 15))
        a = _place(rng, n, used, L)
        if a is None:
            continue
        b = a + L
        seg = orig[a:b]
        if np.isfinite(seg).mean() < 0.5 or (kind == 'stuck' and not np.isfinite(orig[a - 1])):
            continue
        sig = robust_sigma(orig, a, b)
        mag = float(rng.uniform(4, 10))
        if kind == 'spike':
            v[a:b] = seg + mag * sig
        elif kind == 'dip':
            v[a:b] = np.maximum(seg - mag * sig, 0.0)
        elif kind == 'level_shift':
            sgn = 1 if rng.random() < 0.5 else -1
            v[a:b] = np.maximum(seg + sgn * mag * sig, 0.0)
        elif kind == 'unit_x1000':
            v[a:b] = seg * 1000
        elif kind == 'unit_d1000':
            v[a:b] = seg / 1000
        elif kind == 'zero':
            v[a:b] = np.where(np.isfinite(seg), 0.0, np.nan)
        elif kind == 'double':
            v[a:b] = seg * 2
        elif kind == 'stuck':
            v[a:b] = orig[a - 1]
        used.append((a, b))
        events.append((kind, a, b))
    gap = None
    if rng.random() < 0.3:
        L = int(rng.integers(14, 57))
        a = _place(rng, n, used, L, lo=60, hi=n - L - 60)
        if a is not None:
            v[a:a + L] = np.nan
            gap = (a, a + L)
    return v, events, gap


def half_of(key):
    return int(hashlib.md5(key.encode()).hexdigest(), 16) % 2  # 0 = tune, 1 = test


def build(seed, data, london=SAMPLE['london'], mix=KINDS):
    """Returns a list of dict(source, id, base, half, dates, clean, values, events, gap)."""
    rng = np.random.default_rng(seed)
    out = []
    for src in ['london', 'wiki', 'bikes', 'small']:
        if src == 'small':
            series = {}
            for s2 in ('wiki', 'bikes'):
                series.update(load_source(data, s2))
        else:
            series = load_source(data, src)
        ids = sorted(series)
        if src == 'london':
            ids = sorted(rng.choice(ids, size=min(london, len(ids)), replace=False))
        for sid in ids:
            idx, v = series[sid]
            for r in range(REPLICATES[src]):
                key = sid if REPLICATES[src] == 1 else f'{sid}#{r}'
                rs = np.random.default_rng(int(hashlib.md5(f'{seed}:{key}'.encode()).hexdigest()[:12], 16))
                if src == 'small':
                    key = 'small_' + key
                    rs = np.random.default_rng(int(hashlib.md5(f'{seed}:{key}'.encode()).hexdigest()[:12], 16))
                    p = min(1.0, SMALL_MEDIAN / np.nanmedian(v))
                    v = np.where(np.isfinite(v), rs.binomial(np.nan_to_num(v).astype(np.int64), p), np.nan).astype(float)
                nv, ev, gap = inject(v, rs, mix)
                half = half_of(key if src in ('bikes', 'small') else sid)
                out.append(dict(source=src, id=key, base=sid, half=half, dates=idx, clean=v, values=nv,
                                events=ev, gap=gap))
    return out


def load_set(args, seed):
    """The injected set of one seed, built once and cached under <out>/sets/."""
    cache = os.path.join(args.out, 'sets')
    os.makedirs(cache, exist_ok=True)
    mix = args.kinds.split(',')
    unknown = [k for k in mix if k not in KINDS]
    if unknown:
        raise SystemExit(f'--kinds: unknown kinds {unknown}; choose among {KINDS}')
    tag = '' if mix == KINDS else '_' + '-'.join(mix)
    p = os.path.join(cache, f'set_{seed}_london{args.london}{tag}.pkl')
    if os.path.exists(p):
        with open(p, 'rb') as f:
            return pickle.load(f)
    if not os.path.isdir(args.data):
        raise SystemExit(f'no data folder at {args.data} (pass --data)')
    s = build(seed, args.data, args.london, mix)
    with open(p, 'wb') as f:
        pickle.dump(s, f)
    return s


def load_sets(args):
    return {seed: load_set(args, seed) for seed in args.seeds}


# ---------------------------------------------------------------- scoring
def alerts_from_flags(flag_idx):
    """flag_idx: sorted int array of flagged day indices -> list of (a, b) inclusive alert runs."""
    if len(flag_idx) == 0:
        return []
    out = []
    a = b = int(flag_idx[0])
    for f in flag_idx[1:]:
        f = int(f)
        if f - b <= MERGE_GAP + 1:
            b = f
        else:
            out.append((a, b))
            a = b = f
    out.append((a, b))
    return out


def score_series(flags, events, n):
    """flags: bool array (n) or index array. Returns (tp_alerts, n_alerts, caught_events, n_events, per-kind)."""
    fi = np.flatnonzero(flags) if flags.dtype == bool else np.sort(np.asarray(flags))
    alerts = alerts_from_flags(fi)
    wins = [(a, b - 1 + TOL) for (_, a, b) in events]  # inclusive
    tp = sum(1 for (a, b) in alerts if any(a <= w1 and b >= w0 for (w0, w1) in wins))
    caught = {}
    for (kind, a, b), (w0, w1) in zip(events, wins):
        hit = bool(np.any((fi >= w0) & (fi <= w1))) if len(fi) else False
        caught.setdefault(kind, []).append(hit)
    return tp, len(alerts), caught


def evaluate(items, flags_by_id, sources=SOURCES, half=None):
    """items: the injected set; flags_by_id: id -> bool array over the series' days. Returns a DataFrame per
    source with P, R, F1, false alerts per 1,000 series-weeks, events, alerts, and per-kind recall."""
    rows = []
    for src in sources:
        tp = na = ne = nc = 0
        weeks = 0.0
        kinds = {}
        for it in items:
            if it['source'] != src or (half is not None and it['half'] != half):
                continue
            n = len(it['values'])
            f = flags_by_id.get(it['id'])
            if f is None:
                f = np.zeros(n, bool)
            t, a, caught = score_series(f, it['events'], n)
            tp += t
            na += a
            weeks += n / 7.0
            for k, hits in caught.items():
                kinds.setdefault(k, []).extend(hits)
                ne += len(hits)
                nc += sum(hits)
        P = tp / na if na else 0.0
        R = nc / ne if ne else 0.0
        F1 = 2 * P * R / (P + R) if P + R else 0.0
        row = dict(source=src, P=P, R=R, F1=F1, FA_per_1k_sw=1000 * (na - tp) / weeks if weeks else 0.0,
                   events=ne, alerts=na)
        for k in KINDS:
            h = kinds.get(k, [])
            row['R_' + k] = np.mean(h) if h else np.nan
        rows.append(row)
    return pd.DataFrame(rows).set_index('source')


def write_cli_csv(items, path, source):
    """customer,meter,date,quantity,price for the CLI's ingest (NaN days omitted = gaps)."""
    with open(path, 'w') as f:
        f.write('customer,meter,date,quantity,price\n')
        for it in items:
            if it['source'] != source:
                continue
            ds = it['dates'].strftime('%Y-%m-%d')
            for d, v in zip(ds, it['values']):
                if np.isfinite(v):
                    f.write(f'{source},{it["id"]},{d},{v:.6g},1\n')


if __name__ == '__main__':
    from collections import Counter
    a = parse_args('Build (or load) the injected sets and print their sizes.')
    for seed, items in load_sets(a).items():
        for src in SOURCES:
            its = [i for i in items if i['source'] == src]
            c = Counter(k for i in its for (k, _, _) in i['events'])
            print(f'seed {seed} {src}: {len(its)} series (tune {sum(i["half"] == 0 for i in its)}, test '
                  f'{sum(i["half"] == 1 for i in its)}), {sum(c.values())} events {dict(c)}, '
                  f'{sum(i["gap"] is not None for i in its)} plain gaps')
