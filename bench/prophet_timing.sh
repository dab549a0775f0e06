#!/usr/bin/env bash
# Times R prophet (Debian r-cran-prophet) on the same 730-day series meterbench generates, one core, and
# compares with the gam's per-series cost on the same population. Not required by the test suite.
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
fit=$(sed -n 's/^PROPHET_FIT_SECONDS=//p' "$work/prophet.txt")
full=$(sed -n 's/^PROPHET_FULL_SECONDS=//p' "$work/prophet.txt")
# CPU time of the whole backtest process (user + system, one thread), like prophet's: load-resistant.
/usr/bin/python3 - "$cli" "$work" "$fit" "$full" <<'PY'
import json, resource, subprocess, sys
cli, work, fit, full = sys.argv[1], sys.argv[2], float(sys.argv[3]), float(sys.argv[4])
subprocess.run(["taskset", "-c", "0", cli, "backtest", "--data", f"{work}/data.h5", "--threads", "1", "--no-baseline", "--no-alerts",
                "--out", f"{work}/bt", "--log-level", "warn"], check=True, stdout=subprocess.DEVNULL)
r = resource.getrusage(resource.RUSAGE_CHILDREN)
s = json.load(open(f"{work}/bt/summary.json"))
n = s["dataset"]["series"]
g = (r.ru_utime + r.ru_stime) / n
print(f"gam: {g*1e6:.1f} us CPU per series (whole backtest process on one thread: read, fit, score, evaluate, write; "
      f"{s['throughput']['wall_seconds']:.2f} s wall for {n} series)")
print(f"prophet fit only: {fit:.3f} s CPU per series = {fit/g:,.0f}x the gam; with intervals: {full:.3f} s = {full/g:,.0f}x")
PY
uptime
