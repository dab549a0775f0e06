#!/usr/bin/python3
"""The tables of the study as Markdown, from the CSVs of cli_eval.py, sweep.py, zcurve.py and check_faithful.py:
the configuration table (test halves), the paired differences of each change, the z table, per-kind recall of
the recommended design, background alerts and prototype faithfulness. Writes <out>/tables.md and prints it.
A table whose input is missing is left out.
"""
import os
import pandas as pd
import protocol as P
import sweep as S

CLI_ROWS = [('gam, shipped defaults (CLI, z 7)', 'gam defaults (CLI, z 7)'),
            ('gam, defaults before the tail scale (CLI, z 16.75)', 'gam defaults before the tail scale (CLI, z 16.75)'),
            ('gam shipped (CLI), z tuned', 'gam shipped (CLI)'),
            ('stl-esd defaults (CLI)', 'stl-esd defaults (CLI)'),
            ('seasonal-mad defaults (CLI)', 'seasonal-mad defaults (CLI)'),
            ('gam none (CLI), z tuned', 'gam none (CLI)'),
            ('gam log1p (CLI), z tuned', 'gam log1p (CLI)'),
            ('stl-esd as shipped, threshold tuned', 'stl-esd (CLI)'),
            ('seasonal-mad as shipped, threshold tuned', 'seasonal-mad (CLI)'),
            ('stl-esd + the 4 rules, tuned', 'stl-esd (CLI) + rules'),
            ('seasonal-mad + the 4 rules, tuned', 'seasonal-mad (CLI) + rules'),
            ('gam log1p (CLI) + the 4 rules, tuned', 'gam log1p (CLI) + rules')]
PROTO_ROWS = [('proto L = log1p + stuck + stopped', 'L = log1p + rules'),
              ('proto R0 = L + weekday scale + run score', 'R0 = L+3+8(w3,7)'),
              ('proto R0 + unit + zero-run rules', 'R0+unit100+zerorun3'),
              ('**proto recommended** (R0 + unit + zero run, log1p(y/c))', 'Rfinal with log1p(y/c), c=0.05 median')]
BASE, L, R0UZ = '0 base (gam defaults)', 'L = log1p + rules', 'R0+unit100+zerorun3'
PAIRED = [  # (reference, configuration, label)
    (BASE, '0L base + log1p', 'log1p transform'),
    (BASE, '2 auto Box-Cox', '(2) per-series Box-Cox'),
    (BASE, '6 rules (stuck>=4, stopped>=7)', '(6) stuck + stopped rules'),
    (BASE, '1 hb start + rescale', '(1) high-breakdown start + MAD re-estimated each IRLS step'),
    (BASE, '3 weekday scale', '(3) weekday scale'),
    (BASE, '4 local scale 8w f0.5', '(4) local scale, 8 weeks, floor 0.5'),
    (BASE, '5 count band', '(5) Poisson count band'),
    (BASE, '8 run score w7', '(8) run score, w = 7'),
    (L, 'L+1 hb+rescale', '(1) high-breakdown start + rescale'),
    (L, 'A = auto Box-Cox + rules', '(2) auto Box-Cox instead of log1p'),
    (L, 'L(lambda=0.25) + rules', 'fixed lambda = 0.25 instead of log'),
    (L, 'L(lambda=0.5) + rules', 'fixed lambda = 0.5 instead of log'),
    (L, 'L+3 weekday', '(3) weekday scale'),
    (L, 'L+4 local 8w f0.5', '(4) local scale, 8 weeks, floor 0.5'),
    (L, 'L+4 local widen-only (8w, floor 1)', '(4) local scale, widen-only'),
    (L, 'L+4 local narrow-only (8w, f0.5, cap 1)', '(4) local scale, narrow-only'),
    (L, 'L+5 count', '(5) Poisson count band'),
    (L, 'L+8 run w3,7', '(8) run score, w = 3 and 7'),
    (L, 'L+unit100', '(6) unit rule (x/÷ 100 of the level)'),
    (L, 'L+zerorun3', '(6) zero-run rule (>= 3 zeros after regular non-zero use)'),
    (L, R0UZ, 'R0 + unit + zero run (all of the above)'),
    (L, 'L rules: stopped on any gap', 'stopped-reporting rule on any gap'),
    (L, 'L huber_c 1.345', 'Huber c 1.345 instead of 2'),
    (L, 'L rules: stuck>=3', 'stuck >= 3 instead of 4'),
    (L, 'L rules: stopped>=3', 'stopped >= 3 instead of 7'),
    (R0UZ, 'Rfinal with log1p(y/c), c=0.05 median', 'log1p(y/c), c = 0.05 median of positives, instead of log1p(y)'),
]
SRC = list(P.SOURCES)


def read(args, name):
    p = os.path.join(args.out, name)
    return pd.read_csv(p) if os.path.exists(p) else None


def cell(r):
    return f"{r['F1']:.2f} ({r['P']:.2f}/{r['R']:.2f}/{r['FA_per_1k_sw']:.0f})"


def configuration_table(cli, proto):
    rows = []
    if cli is not None:
        d = cli.set_index(['family', 'source'])
        rows += [(label, d.loc[fam]) for label, fam in CLI_ROWS if fam in d.index.get_level_values(0)]
    if proto is not None:
        d = proto[proto.zmode == 'per-source z'].set_index(['config', 'source'])
        rows += [(label, d.loc[c]) for label, c in PROTO_ROWS if c in d.index.get_level_values(0)]
    out = ['Test halves; F1 (P/R/FA per 1,000 series-weeks); last column: F1 range over the test folds.', '',
           '| configuration | ' + ' | '.join(SRC) + ' | F1 range |', '| --- |' + ' --- |' * (len(SRC) + 1)]
    for label, d in rows:
        rng = ', '.join(f"{d.loc[s, 'F1_min']:.2f}-{d.loc[s, 'F1_max']:.2f}" for s in SRC) \
            if 'tuned' in label or label.startswith(('proto', '**proto')) else ''
        out.append(f'| {label} | ' + ' | '.join(cell(d.loc[s]) for s in SRC) + f' | {rng} |')
    return out


def paired_table(raw):
    """Mean [min, max] over the (seed, fold) test scores of config minus reference: F1 with z tuned per
    source, R_band at the false-alert budget of 30."""
    have = set(raw.config)
    out = ['Paired differences over the test folds: mean [min, max]. F1 with z tuned per source; R_band at the',
           'false-alert budget of 30 per 1,000 series-weeks.', '',
           '| change | against | metric | ' + ' | '.join(SRC) + ' |', '| --- | --- | --- |' + ' --- |' * len(SRC)]
    for zmode, metric in (('per-source z', 'F1'), ('FA budget 30', 'R_band')):
        r = raw[raw.zmode == zmode].set_index(['config', 'source', 'seed', 'tune'])[metric]
        for ref, c, label in PAIRED:
            if c not in have or ref not in have:
                continue
            cells = []
            for s in SRC:
                d = (r.loc[c].loc[s] - r.loc[ref].loc[s]).to_numpy()
                cells.append(f'{d.mean():+.2f} [{d.min():+.2f},{d.max():+.2f}]')
            out.append(f'| {label} | {ref} | {metric} | ' + ' | '.join(cells) + ' |')
    return out


def z_table(z):
    out = ['Recommended design at fixed z, all series: F1 / R_band / FA per 1,000 series-weeks / x1000 recall.', '',
           '| z | ' + ' | '.join(SRC) + ' |', '| --- |' + ' --- |' * len(SRC)]
    for zz, g in z.groupby('z'):
        g = g.set_index('source')
        out.append(f'| {zz:g} | ' + ' | '.join(
            f"{g.loc[s, 'F1']:.2f} / {g.loc[s, 'R_band']:.2f} / {g.loc[s, 'FA_per_1k_sw']:.0f} / "
            f"{g.loc[s, 'R_unit_x1000']:.2f}" for s in SRC) + ' |')
    return out


def kinds_table(proto):
    d = proto[(proto.zmode == 'per-source z') & (proto.config == PROTO_ROWS[-1][1])].set_index('source')
    kinds = ['R_' + k for k in P.KINDS]
    out = ['Per-kind recall of the recommended design, z tuned per source (test halves).', '',
           '| source | ' + ' | '.join(k[2:] for k in kinds) + ' |', '| --- |' + ' --- |' * len(kinds)]
    out += [f'| {s} | ' + ' | '.join(f'{d.loc[s, k]:.2f}' for k in kinds) + ' |' for s in SRC if s in d.index]
    return out


def main(args):
    cli, proto, raw = read(args, 'cli_summary.csv'), read(args, 'proto_summary.csv'), read(args, 'proto_raw.csv')
    z, bg, fa = read(args, 'zcurve.csv'), read(args, 'background.csv'), read(args, 'faithful.csv')
    parts = [['## Configurations'] + [''] + configuration_table(cli, proto)]
    if raw is not None:
        parts.append(['## Each change: paired differences', ''] + paired_table(raw))
    if z is not None:
        parts.append(['## z', ''] + z_table(z))
    if proto is not None:
        parts.append(['## Per-kind recall', ''] + kinds_table(proto))
    if bg is not None:
        parts.append(['## Alerts on the clean backgrounds (R0)', '',
                      '```\n' + bg.fillna('').round(1).to_string(index=False) + '\n```'])
    if fa is not None:
        parts.append(['## Prototype against the CLI (z 3.5, first seed)', '',
                      '```\n' + fa.round(3).to_string(index=False) + '\n```'])
    text = '\n\n'.join('\n'.join(p) for p in parts) + '\n'
    with open(os.path.join(args.out, 'tables.md'), 'w') as f:
        f.write(text)
    print(text)


if __name__ == '__main__':
    main(P.parse_args(__doc__.splitlines()[0]))
