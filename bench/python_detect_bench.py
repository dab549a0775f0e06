#!/usr/bin/python3
"""meterbench.detect on a usage DataFrame against the CLI on the same data.

    PYTHONPATH=build/release/python /usr/bin/python3 bench/python_detect_bench.py [--series N] [--days D] [--repeat R]

Generates N series x D days (`meterbench generate`), makes the long frame (customer and meter as categoricals,
as pandas.read_csv(..., dtype="category") gives them) and its usage CSV, then times, median of R runs each:
  cli detect         `meterbench detect` on the dataset file (.h5)
  cli ingest+detect  `meterbench ingest` of the CSV, then `meterbench detect`: the CLI's way from an export
  python detect      meterbench.detect(frame): frame -> dataset -> the engine's detect -> incidents DataFrame
and checks that the incidents are the same rows. Prints one JSON object.
"""
import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time

import pandas as pd

import meterbench as mb

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
parser = argparse.ArgumentParser()
parser.add_argument("--series", type=int, default=10_000)
parser.add_argument("--days", type=int, default=730)
parser.add_argument("--repeat", type=int, default=3)
parser.add_argument("--threads", type=int, default=0)
parser.add_argument("--no-csv", action="store_true", help="skip the CLI's ingest of the CSV (writing a large CSV from pandas is slow)")
parser.add_argument("--cli", default=os.path.join(root, "build", "release", "tools", "meterbench"))
args = parser.parse_args()
threads = args.threads or os.cpu_count()
mb.set_log_level("warning")


def timed(function):
    times = []
    for _ in range(args.repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def cli(*command):
    subprocess.run([args.cli, *map(str, command), "--threads", str(threads), "--log-level", "warn"], check=True,
                   stdout=subprocess.DEVNULL)


with tempfile.TemporaryDirectory(prefix="meterbench-bench-") as d:
    data, csv, ingested, out = (os.path.join(d, name) for name in ("data.h5", "usage.csv", "ingested.h5", "incidents.json"))
    cli("generate", "--scenario", os.path.join(root, "datasets", "scenarios", "default.toml"), "--series", args.series, "--days",
        args.days, "--seed", 5, "--out", data)
    frame = mb.read_dataset(data).to_frame()
    frame["customer"] = frame["customer"].astype("category")
    frame["meter"] = frame["meter"].astype("category")
    if not args.no_csv:
        frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_csv(csv, index=False)

    cli_detect, _ = timed(lambda: cli("detect", "--data", data, "--out", out, "--force"))
    cli_ingest_detect = float("nan")
    if not args.no_csv:
        cli_ingest_detect, _ = timed(lambda: (cli("ingest", "--csv", csv, "--out", ingested, "--force"),
                                              cli("detect", "--data", ingested, "--out", out, "--force")))
    cli("detect", "--data", data, "--out", out, "--force")
    python_detect, incidents = timed(lambda: mb.detect(frame, threads=threads))
    build, _ = timed(lambda: mb.frame_to_dataset(frame))
    same = incidents.equals(mb._incidents_from_json(json.load(open(out))))

print(json.dumps({"series": args.series, "days": args.days, "rows": len(frame), "threads": threads, "repeat": args.repeat,
                  "incidents": len(incidents), "same_incidents_as_cli": same,
                  "seconds": {"cli_detect": round(cli_detect, 3), "cli_ingest_detect": round(cli_ingest_detect, 3),
                              "python_detect": round(python_detect, 3), "python_frame_to_dataset": round(build, 3)},
                  "python_over_cli_detect": round(python_detect / cli_detect, 2),
                  "python_over_cli_ingest_detect": round(python_detect / cli_ingest_detect, 2)}, indent=1))
