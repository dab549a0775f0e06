#!/usr/bin/env bash
# Rewrites results/speed_baseline.json: each hot path's cost relative to the reference kernel, which
# bench/speed_check.cpp (ctest -L speed) compares with. Run it on a quiet machine (uptime: load < 0.5) from a
# Release build, only when a speed change is intended or the reference machine changed, look at the diff,
# and commit it with the reason (see results/README.md, "Speed baseline"). The noise bands are kept.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$root/tools/setup.sh" release speed_check
echo "load: $(uptime)"
baseline="$root/results/speed_baseline.json"
args=(--repetitions 31 --write "$baseline")
[[ -f $baseline ]] && args+=(--baseline "$baseline")
# The comparison with the old baseline is printed for the commit message; it must not stop the rewrite.
"$root/build/release/bench/speed_check" "${args[@]}" || true
git -C "$root" diff --stat -- results/speed_baseline.json
