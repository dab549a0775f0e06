#!/usr/bin/env bash
# The main job on the default dataset: install what is missing, build Release, generate the default
# population (datasets/scenarios/default.toml: 10,000 series x 730 days), backtest the gam detector on it
# (with the random baseline at the same flag rate), print the metrics and throughput, and write the HTML
# report (out/default/backtest/report.html, figures in report_files/ beside it).
# Idempotent: outputs under out/default/ are replaced on every run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# The CLI, and the Python module beside it (docs/python.md: importable with PYTHONPATH=build/release/python).
"$root/tools/setup.sh" release meterbench meterbench_python
cli="$root/build/release/tools/meterbench"
out="$root/out/default"
mkdir -p "$out"
"$cli" generate --scenario "$root/datasets/scenarios/default.toml" --out "$out/population.h5" --force
"$cli" backtest --data "$out/population.h5" --model gam --out "$out/backtest" --save-bands --force
"$cli" report "$out/backtest" --force
echo "run directory: $out/backtest (summary.json, per_kind.csv, pr_curve.csv, alerts.csv, bands.h5)"
echo "report: $out/backtest/report.html"
