#!/usr/bin/python3
"""Semi-synthetic evaluation on real usage backgrounds with the CLI alone: ingest -> inject -> backtest.

For each source of the real-usage folder (London households, Wikipedia page views, bike rentals; see its
README.md), the series are ingested with `meterbench ingest` (wiki and bikes, having few series, as R
replicates each: customer = the background's id, meter = r<k>), labelled anomalies are injected with
`meterbench inject --scenario datasets/scenarios/real_injections.toml`, and every model is run with
`meterbench backtest` at its defaults. Prints event F1, precision, recall and false alerts per 1,000
series-weeks per source and model (and per-kind recall), and writes them to <out>/summary.csv and
<out>/summary.md. With --sweep MODEL:KEY=V1,V2 it also runs `meterbench sweep` per source and prints the
point chosen on the tuning half with its test-half metrics.

The labelled datasets are what `meterbench sweep` tunes on: sweep chooses on a tuning half and reports on a
test half, split by a hash of (customer, meter). Replicates of one background differ in their meter, so they
fall in both halves: use --replicates 1 (or judge sweeps on london, which has no replicates) when the halves
must not share backgrounds.

Debian's python3 with pandas only (no h5py needed). Run from anywhere:
    /usr/bin/python3 tools/real_usage_eval.py ../shared/data/real-usage
"""
import argparse
import csv
import gzip
import json
import os
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), '..'))
FILES = {'london': 'london_smart_meters_daily_kwh.csv.gz',
         'wiki': 'wikipedia_pageviews_timetk_sample.csv.gz',
         'bikes': 'uci_bike_sharing_daily.csv.gz'}
KINDS = ['spike', 'dip', 'level_shift', 'unit_error', 'dropped_reporting', 'double_counting', 'stuck_meter',
         'stopped_reporting']


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('data', help='the real-usage folder (e.g. ../shared/data/real-usage)')
    p.add_argument('--cli', default=os.path.join(ROOT, 'build', 'release', 'tools', 'meterbench'), help='meterbench binary')
    p.add_argument('--out', default=os.path.join(ROOT, 'out', 'real_usage_eval'), help='work folder (default: %(default)s)')
    p.add_argument('--scenario', default=os.path.join(ROOT, 'datasets', 'scenarios', 'real_injections.toml'))
    p.add_argument('--seed', type=int, default=16, help='injection seed (default: %(default)s)')
    p.add_argument('--sources', default='london,wiki,bikes', help='comma-separated (default: %(default)s)')
    p.add_argument('--replicates', default='london=1,wiki=8,bikes=8',
                   help='injection replicates per background, source=R,... (default: %(default)s)')
    p.add_argument('--models', default='gam,stl-esd,seasonal-mad', help='comma-separated (default: %(default)s)')
    p.add_argument('--set', action='append', default=[], metavar='MODEL:NAME=VALUE',
                   help='a detector setting for one model, e.g. gam:transform=log1p (repeatable)')
    p.add_argument('--sweep', action='append', default=[], metavar='MODEL:KEY=V1,V2,...',
                   help='also run `meterbench sweep` of MODEL over this grid on each source (repeatable; several '
                        'grids of one model make their Cartesian product), e.g. gam:transform=none,log1p; prints '
                        'the chosen point and its test-half metrics')
    p.add_argument('--objective', default='event_f1', help='objective of --sweep (default: %(default)s)')
    p.add_argument('--budget', type=float, default=None, help='--budget of --sweep (false alerts per 1,000 series-weeks)')
    p.add_argument('--labelled', action='append', default=[], metavar='NAME=PATH',
                   help='also evaluate this labelled dataset (e.g. a generated scenario) as source NAME (repeatable)')
    p.add_argument('--threads', type=int, default=2)
    return p.parse_args()


def run(cmd):
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    if r.returncode != 0:
        sys.exit(f'failed ({r.returncode}): {" ".join(cmd)}\n{r.stdout}')
    return r.stdout


def write_replicated_csv(source_file, out_csv, replicates):
    """The long CSV series,date,value as customer,meter,date,quantity with `replicates` copies of each series
    (missing days, empty values, are left out: ingest makes them gaps)."""
    with gzip.open(source_file, 'rt', newline='') as f, open(out_csv, 'w', newline='') as g:
        reader = csv.DictReader(f)
        g.write('customer,meter,date,quantity\n')
        rows = [(r['series'], r['date'], r['value']) for r in reader if r['value'] != '']
        for k in range(replicates):
            for series, date, value in rows:
                g.write(f'{series},r{k},{date},{value}\n')


def prepare(args, source, replicates):
    os.makedirs(os.path.join(args.out, source), exist_ok=True)
    base = os.path.join(args.out, source)
    csv_path = os.path.join(base, 'usage.csv')
    write_replicated_csv(os.path.join(args.data, FILES[source]), csv_path, replicates)
    real = os.path.join(base, 'real.h5')
    labelled = os.path.join(base, f'labelled_seed{args.seed}.h5')
    threads = ['--threads', str(args.threads)]
    print(run([args.cli, 'ingest', '--csv', csv_path, '--out', real, '--force'] + threads).splitlines()[0])
    print(run([args.cli, 'inject', '--data', real, '--scenario', args.scenario, '--seed', str(args.seed), '--out', labelled,
               '--force'] + threads).splitlines()[0])
    os.remove(csv_path)
    return labelled


def per_kind_recall(run_dir):
    recall = {}
    with open(os.path.join(run_dir, 'per_kind.csv'), newline='') as f:
        for row in csv.DictReader(f):
            kind = row.get('kind')
            if kind in KINDS and row.get('events') not in (None, '', '0'):
                recall[kind] = float(row['caught']) / float(row['events']) if 'caught' in row else float(row.get('recall', 'nan'))
    return recall


def backtest(args, source, labelled, model):
    run_dir = os.path.join(args.out, source, f'bt_{model}_seed{args.seed}')
    settings = []
    for s in args.set:
        m, _, setting = s.partition(':')
        if m == model:
            settings += ['--set', setting]
    run([args.cli, 'backtest', '--data', labelled, '--model', model, '--out', run_dir, '--force', '--no-baseline',
         '--min-impact', '0', '--threads', str(args.threads)] + settings)
    with open(os.path.join(run_dir, 'summary.json')) as f:
        m = json.load(f)['metrics']
    ev = m['event']
    row = dict(source=source, model=model, events=ev['events'], F1=ev['f1'], P=ev['precision'], R=ev['recall'],
               false_alerts_per_1k_series_weeks=m['false_alerts_per_1000_series_weeks'])
    for kind, r in per_kind_recall(run_dir).items():
        row['R_' + kind] = r
    return row


def sweep(args, source, labelled, model, grids):
    out = os.path.join(args.out, source, f'sweep_{model}_{args.objective}_seed{args.seed}')
    cmd = [args.cli, 'sweep', '--data', labelled, '--model', model, '--out', out, '--force', '--no-baseline', '--min-impact', '0',
           '--threads', str(args.threads), '--objective', args.objective, '--max-minutes', '0']
    if args.budget is not None:
        cmd += ['--budget', str(args.budget)]
    for g in grids:
        cmd += ['--grid', g]
    run(cmd)
    with open(os.path.join(out, 'best.json')) as f:
        best = json.load(f)
    if best.get('best') is None:
        return dict(source=source, model=model, chosen='none')
    b = best['best']
    t = b['test']
    chosen = ' '.join(f'{k}={v}' for k, v in b['grid_values'].items()) + f' z={b["z"]}'
    return dict(source=source, model=model, chosen=chosen, test_series=t['series'], test_events=t['events'],
                F1=t['event_f1'], P=t['event_precision'], R=t['event_recall'],
                false_alerts_per_1k_series_weeks=t['false_alerts_per_1000_series_weeks'])


def fmt(v):
    return f'{v:.3f}' if isinstance(v, float) else str(v)


def main():
    args = parse_args()
    if not os.path.isdir(args.data):
        sys.exit(f'no real-usage folder at {args.data}')
    replicates = dict(kv.split('=') for kv in args.replicates.split(','))
    grids = {}
    for spec in args.sweep:
        model, _, grid = spec.partition(':')
        grids.setdefault(model, []).append(grid)
    rows, sweeps = [], []
    datasets = [(source, None) for source in args.sources.split(',') if source]
    datasets += [tuple(kv.split('=', 1)) for kv in args.labelled]
    for source, given in datasets:
        labelled = given if given else prepare(args, source, int(replicates.get(source, 1)))
        os.makedirs(os.path.join(args.out, source), exist_ok=True)
        for model in args.models.split(','):
            rows.append(backtest(args, source, labelled, model))
        for model, model_grids in grids.items():
            sweeps.append(sweep(args, source, labelled, model, model_grids))
    columns = ['source', 'model', 'events', 'F1', 'P', 'R', 'false_alerts_per_1k_series_weeks'] + \
        ['R_' + k for k in KINDS if any('R_' + k in r for r in rows)]
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + ' --- |' * len(columns)]
    lines += ['| ' + ' | '.join(fmt(r.get(c, '')) for c in columns) + ' |' for r in rows]
    table = '\n'.join(lines)
    print(table)
    with open(os.path.join(args.out, 'summary.md'), 'w') as f:
        f.write(f'seed {args.seed}, scenario {os.path.relpath(args.scenario, ROOT)}, replicates {args.replicates}\n\n{table}\n')
    with open(os.path.join(args.out, 'summary.csv'), 'w', newline='') as f:
        w = csv.DictWriter(f, fieldnames=columns, extrasaction='ignore')
        w.writeheader()
        w.writerows(rows)
    if sweeps:
        columns = ['source', 'model', 'chosen', 'test_series', 'test_events', 'F1', 'P', 'R', 'false_alerts_per_1k_series_weeks']
        lines = ['', 'sweep: chosen on the tuning half, measured on the test half', '| ' + ' | '.join(columns) + ' |',
                 '|' + ' --- |' * len(columns)]
        lines += ['| ' + ' | '.join(fmt(r.get(c, '')) for c in columns) + ' |' for r in sweeps]
        print('\n'.join(lines))
        with open(os.path.join(args.out, 'summary.md'), 'a') as f:
            f.write('\n'.join(lines) + '\n')


if __name__ == '__main__':
    main()
