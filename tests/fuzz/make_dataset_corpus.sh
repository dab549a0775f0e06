#!/usr/bin/env bash
# Writes the dataset fuzz target's seed corpus with the CLI (generated files are never committed): a generated
# daily population, an hourly one and an ingested export, each a few KiB.
#   tests/fuzz/make_dataset_corpus.sh MeterbenchCLI OUTDIR
set -euo pipefail
cli=$1 out=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$out"
quiet=(--log-level error --threads 1 --force)
"$cli" generate --scenario "$root/datasets/scenarios/ci.toml" --series 5 --days 200 --out "$out/ci_5x200.h5" "${quiet[@]}" >/dev/null
"$cli" generate --scenario "$root/datasets/scenarios/hourly.toml" --series 2 --days 2 --out "$out/hourly_2x2.h5" "${quiet[@]}" >/dev/null
csv=$(mktemp "${TMPDIR:-/tmp}/meterbench-fuzz-export.XXXXXX.csv")
trap 'rm -f "$csv"' EXIT
{
  echo "customer,meter,date,quantity,price"
  for c in a b c; do for d in 01 02 03 04 05; do echo "$c,m1,2024-03-$d,1$d.5,0.25"; done; done
} >"$csv"
"$cli" ingest --csv "$csv" --out "$out/ingested_3x5.h5" "${quiet[@]}" >/dev/null
