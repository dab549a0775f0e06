#!/usr/bin/python3
"""Speed of `meterbench review` (docs/review.md): server start, the inventory page's time to interactive in headless
Chromium, and the detail view's latency (one series read and run through the detector).

  /usr/bin/python3 bench/review_bench.py --cli build/release/tools/meterbench --work /tmp/review-bench
      [--series 8000 --days 730] [--start-series 1000000 --start-days 28] [--repetitions 5]

Part 1: a dataset of SERIES x DAYS (default 8,000 x 730 days, about 100k incidents with `detect --min-impact 0`):
the page's load in Chromium (navigation start to the first inventory rows drawn, with 100 USD and All), a filter
change, and GET /api/incidents/<id> for 50 incidents (series read + gam fit + JSON). Part 2: a dataset of
START_SERIES series (default 1M, 28 days: the start reads no values, so the length does not matter) with 100k
incidents written from its /series table: the time from the command's start to its URL, and the first detail
request (which waits for the background (customer, meter) lookup of all series). Prints medians as JSON."""
import argparse
import csv
import json
import os
import re
import statistics
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "review"))
import review_browser_test  # noqa: E402  (its browser set-up)


def run(*args):
    subprocess.run(args, check=True, stdout=subprocess.DEVNULL)


def start_review(cli, data, incidents, feedback):
    began = time.monotonic()
    process = subprocess.Popen([cli, "review", "--data", data, "--incidents", incidents, "--feedback", feedback, "--port", "0"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    url = re.search(r"(http://\S+)", process.stdout.readline()).group(1)
    return process, url, time.monotonic() - began


def get_seconds(url):
    began = time.monotonic()
    with urllib.request.urlopen(url, timeout=60) as response:
        response.read()
    return time.monotonic() - began


def page_times(url, repetitions):
    browser = review_browser_test.start_browser()
    loads, alls = [], []
    try:
        for _ in range(repetitions):
            browser.get("about:blank")
            browser.get(url)
            ready = None
            while ready is None:
                ready = browser.execute_script("return window.inventoryReadyMs")
                time.sleep(0.01)
            loads.append(ready / 1000.0)
            began = browser.execute_script("window.__t = performance.now(); document.body.dataset.inventoryTotal = ''; "
                                           "const s = document.getElementById('f-impact'); s.value = 'all'; "
                                           "s.dispatchEvent(new Event('change')); return window.__t")
            while not browser.execute_script("return document.body.dataset.inventoryTotal"):
                time.sleep(0.005)
            alls.append((browser.execute_script("return performance.now()") - began) / 1000.0)
            total = int(browser.execute_script("return document.body.dataset.inventoryTotal"))
    finally:
        browser.quit()
    return statistics.median(loads), statistics.median(alls), total


def part_one(args):
    data = os.path.join(args.work, f"review_{args.series}x{args.days}.h5")
    incidents = os.path.join(args.work, f"review_{args.series}x{args.days}.csv")
    if not os.path.exists(incidents):
        run(args.cli, "generate", "--scenario", args.scenario, "--series", str(args.series), "--days", str(args.days), "--out", data, "--force")
        run(args.cli, "detect", "--data", data, "--out", incidents, "--min-impact", "0", "--force")
    with open(incidents) as f:
        count = sum(1 for _ in f) - 1
    feedback = os.path.join(args.work, "bench.feedback.jsonl")
    process, url, start = start_review(args.cli, data, incidents, feedback)
    try:
        load, filter_all, total = page_times(url, args.repetitions)
        get_seconds(url + "api/incidents/0")  # the lookup is built
        details = [get_seconds(f"{url}api/incidents/{i * (count // 50)}") for i in range(50)]
        inventory = [get_seconds(url + "api/incidents?min_impact=all&page=500") for _ in range(20)]
    finally:
        process.terminate()
        process.wait()
    return {"series": args.series, "days": args.days, "incidents": count, "start_seconds": round(start, 3),
            "page_interactive_seconds": round(load, 3), "filter_all_seconds": round(filter_all, 3), "all_total": total,
            "inventory_api_seconds": round(statistics.median(inventory), 4),
            "detail_seconds_median": round(statistics.median(details), 4),
            "detail_seconds_p90": round(sorted(details)[int(0.9 * len(details))], 4)}


def part_two(args):
    import h5py  # Debian's python3-h5py (tools/setup.sh)
    data = os.path.join(args.work, f"review_start_{args.start_series}.h5")
    incidents = os.path.join(args.work, f"review_start_{args.start_series}.csv")
    if not os.path.exists(incidents):
        run(args.cli, "generate", "--scenario", args.scenario, "--series", str(args.start_series), "--days", str(args.start_days), "--out", data, "--force")
        with h5py.File(data, "r") as f:
            series = f["series"]
            step = max(1, args.start_series // 100_000)
            rows = series[::step]
        with open(incidents, "w", newline="") as out:
            w = csv.writer(out)
            w.writerow(["customer", "meter", "kind", "start", "end", "days", "direction", "observed_total", "expected_total", "impact", "currency", "peak_score"])
            for i, r in enumerate(rows):
                w.writerow([r["customer_id"].decode(), r["meter_id"].decode(), "spike", "2024-01-10", "2024-01-10", 1, "over", 200 + i, 100, 100 + i, "USD", 9.5])
    feedback = os.path.join(args.work, "bench_start.feedback.jsonl")
    starts, firsts = [], []
    for _ in range(args.repetitions):
        process, url, start = start_review(args.cli, data, incidents, feedback)
        try:
            firsts.append(get_seconds(url + "api/incidents/99999"))  # the last row: waits for the whole lookup
        finally:
            process.terminate()
            process.wait()
        starts.append(start)
    return {"series": args.start_series, "incidents": 100_000, "start_seconds": round(statistics.median(starts), 3),
            "first_detail_seconds": round(statistics.median(firsts), 3)}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    parser.add_argument("--cli", default=os.path.join(root, "build", "release", "tools", "meterbench"))
    parser.add_argument("--scenario", default=os.path.join(root, "datasets", "scenarios", "default.toml"))
    parser.add_argument("--work", required=True)
    parser.add_argument("--series", type=int, default=8000)
    parser.add_argument("--days", type=int, default=730)
    parser.add_argument("--start-series", type=int, default=1_000_000)
    parser.add_argument("--start-days", type=int, default=28)
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--skip-start", action="store_true", help="only part 1")
    args = parser.parse_args()
    os.makedirs(args.work, exist_ok=True)
    result = {"page": part_one(args)}
    if not args.skip_start:
        result["start"] = part_two(args)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
