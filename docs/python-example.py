#!/usr/bin/python3
"""meterbench from Python: load a usage frame, detect incidents, plot the largest one's band.

    PYTHONPATH=build/release/python /usr/bin/python3 docs/python-example.py [--csv usage.csv] [--out incident.png]

Without --csv, a small population is generated first and written as the usage CSV a billing export would be
(customer, meter, date, quantity, price). CI runs this script (ctest -R python_example).
"""
import argparse
import os
import tempfile

import matplotlib

matplotlib.use("Agg")  # no display: write the figure to a file
import matplotlib.pyplot as plt
import pandas as pd

import meterbench as mb

SCENARIO = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "datasets", "scenarios", "default.toml")

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--csv", help="usage CSV: customer, meter, date, quantity[, price]")
parser.add_argument("--out", default="incident.png", help="the figure to write (PNG)")
args = parser.parse_args()

with tempfile.TemporaryDirectory() as directory:
    csv = args.csv
    if csv is None:
        csv = os.path.join(directory, "usage.csv")
        mb.generate(SCENARIO, series=200, days=365, seed=7).to_frame().to_csv(csv, index=False)
    usage = pd.read_csv(csv, parse_dates=["date"], dtype={"customer": str, "meter": str})

# One row per incident, largest |impact| first: the same rows as `meterbench detect`.
incidents = mb.detect(usage, model="gam", min_impact=100.0)
print(f"{len(usage)} usage rows, {usage.groupby(['customer', 'meter']).ngroups} series, {len(incidents)} incidents")
print(incidents.head(5).to_string(index=False))
if incidents.empty:
    raise SystemExit("no incident to plot")

# The band of the largest incident's series: the detector's expected value and range per day. A unit error
# (a factor of 1,000) would dwarf the band: the largest incident of another kind, if there is one.
others = incidents[incidents["kind"] != "unit_error"]
top = (others if len(others) else incidents).iloc[0]
series = usage[(usage["customer"] == top["customer"]) & (usage["meter"] == top["meter"])]
band = mb.fit(series, model="gam")

fig, ax = plt.subplots(figsize=(10, 4))
ax.fill_between(band["date"], band["lower"], band["upper"], color="tab:blue", alpha=0.2, label="expected range")
ax.plot(band["date"], band["expected"], color="tab:blue", linewidth=1, label="expected")
ax.plot(band["date"], band["quantity"], color="black", linewidth=0.8, label="reported usage")
flagged = band[band["flagged"]]
ax.scatter(flagged["date"], flagged["quantity"], color="tab:red", s=10, zorder=3, label="flagged")
ax.axvspan(top["start"], top["end"] + pd.Timedelta(days=1), color="tab:red", alpha=0.1)
ax.set_title(f"{top['customer']} / {top['meter']}: {top['kind']} {top['start']:%Y-%m-%d} to {top['end']:%Y-%m-%d}, "
             f"impact {top['impact']:,.0f} {top['currency']}")
ax.set_xlim(max(top["start"] - pd.Timedelta(days=90), band["date"].min()),  # the incident and its context
            min(top["end"] + pd.Timedelta(days=90), band["date"].max()))
# The axis follows the band: an anomaly far above it is clipped at the top (its value is in the title's impact).
ax.set_ylim(0, 1.5 * max(band["upper"].max(), band["quantity"].median()))
ax.set_ylabel("quantity per day")
ax.legend(loc="upper left", fontsize="small")
fig.tight_layout()
fig.savefig(args.out, dpi=100)
print(f"wrote {args.out}")
