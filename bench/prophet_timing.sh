#!/usr/bin/env bash
# Times R prophet (Debian r-cran-prophet) on the same 730-day series meterbench generates, one core, and
# compares with the gam's per-series cost on the same population (issue 7). Not required by the test suite.
#   bash bench/prophet_timing.sh [SERIES=20]
# Steps: generate the default scenario (2,000 series), export the first SERIES to CSV (ds,y) with h5py,
# time prophet per series (bench/prophet_timing.R), time `meterbench backtest --threads 1` of gam on all 2,000
# series (same seed: the first SERIES are the very series prophet saw), print both and the ratio.
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
series=${1:-20}
if ! dpkg-query -W -f='${Status}' r-cran-prophet 2>/dev/null | grep -q "install ok installed"; then
  echo "prophet_timing: r-cran-prophet is not installed (apt-get install r-cran-prophet)" >&2
  exit 1
fi
cli="$root/build/release/tools/meterbench"
[[ -x $cli ]] || "$root/tools/setup.sh" release meterbench
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cli" generate --scenario "$root/datasets/scenarios/default.toml" --series 2000 --out "$work/data.h5" --log-level warn >/dev/null
mkdir "$work/csv"
/usr/bin/python3 - "$work/data.h5" "$work/csv" "$series" <<'PY'
import sys, h5py, numpy as np, pandas as pd
path, out, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
f = h5py.File(path, "r")
start = pd.Timestamp(f.attrs["start"].decode() if isinstance(f.attrs["start"], bytes) else f.attrs["start"])
values = f["values"][:n]
days = pd.date_range(start, periods=values.shape[1], freq="D")
for i in range(n):
    pd.DataFrame({"ds": days.strftime("%Y-%m-%d"), "y": values[i].astype(np.float64)}).to_csv(f"{out}/series{i:04d}.csv", index=False)
PY
echo "== prophet, one core, $series series"
taskset -c 0 Rscript "$root/bench/prophet_timing.R" "$work/csv" | tee "$work/prophet.txt"
echo "== gam, one thread, 2000 series of the same population"
taskset -c 0 "$cli" backtest --data "$work/data.h5" --threads 1 --no-baseline --no-alerts --out "$work/bt" --log-level warn | tail -1
gam=$(/usr/bin/python3 -c "import json,sys; s=json.load(open(sys.argv[1])); print(s['throughput']['wall_seconds']/s['dataset']['series'])" "$work/bt/summary.json")
fit=$(sed -n 's/^PROPHET_FIT_SECONDS=//p' "$work/prophet.txt")
full=$(sed -n 's/^PROPHET_FULL_SECONDS=//p' "$work/prophet.txt")
/usr/bin/python3 -c "
g, f, u = $gam, $fit, $full
print(f'gam: {g*1e6:.1f} us per series (backtest wall on one thread: fit, score, evaluate, I/O)')
print(f'prophet fit only: {f:.3f} s per series = {f/g:,.0f}x the gam; with intervals: {u:.3f} s = {u/g:,.0f}x')
"
uptime
