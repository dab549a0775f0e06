#!/usr/bin/env bash
# Rewrites results/baseline.json: the exact metrics of each detector on the CI scenario
# (datasets/scenarios/ci.toml), which tests/regression/accuracy_baseline_test.cpp compares with.
# Run it only when a change of metrics is intended, and commit the new baseline with the reason.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" release meterbench
cli="$root/build/release/tools/meterbench"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" generate --scenario "$root/datasets/scenarios/ci.toml" --out "$work/ci.h5" --threads 2 --log-level warn >/dev/null
runs=()
for spec in "gam|retrospective" "seasonal-mad|retrospective" "stl-esd|retrospective" "gam|weekly"; do
  model=${spec%|*}; schedule=${spec#*|}
  "$cli" backtest --data "$work/ci.h5" --model "$model" --schedule "$schedule" --weeks 8 --no-alerts --threads 2 \
      --log-level warn --out "$work/$model-$schedule" >/dev/null
  runs+=("$work/$model-$schedule/summary.json")
done
/usr/bin/python3 - "$root/results/baseline.json" "${runs[@]}" <<'PY'
import json, sys
out, summaries = sys.argv[1], sys.argv[2:]
runs = []
for path in summaries:
    s = json.load(open(path))
    runs.append({"model": s["model"]["name"], "schedule": s["schedule"]["name"],
                 "settings": [], "weeks": s["schedule"]["weeks"] or 52,
                 "metrics": s["metrics"], "baseline_random": s["baseline_random"]["metrics"]})
json.dump({"scenario": "datasets/scenarios/ci.toml", "tool_version": json.load(open(summaries[0]))["context"]["tool_version"],
           "runs": runs}, open(out, "w"), indent=1, sort_keys=False)
print(f"wrote {out}: {len(runs)} runs")
PY
