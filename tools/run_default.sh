#!/usr/bin/env bash
# The main job on the default dataset: install what is missing, build Release, generate the default
# population (datasets/scenarios/default.toml: 10,000 series x 730 days), run the engine on it and print
# what it measured. Idempotent: outputs under out/default/ are replaced on every run.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" release meterbench
cli="$root/build/release/tools/meterbench"
out="$root/out/default"
mkdir -p "$out"
"$cli" generate --scenario "$root/datasets/scenarios/default.toml" --out "$out/population.h5" --force
