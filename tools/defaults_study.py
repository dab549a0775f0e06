#!/usr/bin/python3
"""The study behind the shipped detector defaults (results/README.md, "Shipped defaults").

Drives the meterbench CLI (generate, backtest, ingest) over modest parameter grids; not part of the test
suite. Honest choice: every grid point is scored on a tuning population (seed --tune-seed) and only the
chosen point, next to the old defaults, is run on a test population of another seed (--test-seed).

    /usr/bin/python3 tools/defaults_study.py [--steps generate,gam,seasonal-mad,stl-esd,confirm,nab]
        [--work /tmp/defaults] [--series 20000] [--bin build/release/tools/meterbench]
    /usr/bin/python3 tools/defaults_study.py --steps gam-floor --work /tmp/gamfloor   # gam's scale_floor alone

Objectives, read from each run's pr_curve.csv (one fit gives every threshold z):
  - event F1 = 2 P R / (P + R) with P = alert precision, R = event recall (7-day delay rule);
  - event recall at a budget of <= 5 false alerts per 1,000 series-weeks, without and with the 100 USD
    impact filter (the reference service's default view);
  - dollar-weighted recall shown beside both.
Choice rule (fixed before looking at the test seed): within each stage, the point with the best event F1
over z; among points within F1_TIE of the best, the highest dollar recall at their best z. The shipped z is
the F1-best z of the chosen point. stl-esd's score depends on z (it encodes the ESD decision), so only its
row at the configured z is used and z is a grid parameter there.

Every step caches its runs (a run directory with a summary.json is reused), so re-running is cheap.
"""
import argparse
import csv
import json
import math
import os
import subprocess
import sys
import time

import h5py
import numpy as np
import pandas as pd

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCENARIO = os.path.join(ROOT, "datasets/scenarios/default.toml")
HOURLY = os.path.join(ROOT, "datasets/scenarios/hourly.toml")
INTERMITTENT = os.path.join(ROOT, "datasets/scenarios/intermittent.toml")
NAB = "/work/shared/data/nab"
BUDGET = 5.0     # false alerts per 1,000 series-weeks
F1_TIE = 0.005   # F1 differences below this are ties, broken by dollar recall

# Departures of the shipped defaults from the rule's choice, with the reason (results/README.md): the sweep
# preferred gam without its yearly and billing-cycle terms (+0.016 event F1 on the test seed), but without
# them the weekly rolling schedule strays from independent fits (tests/model/gam_rolling_test.cpp) and
# 90-day gaps in yearly-seasonal series are bridged worse (gam_detector_test.cpp): kept on until looked into.
OVERRIDES = {"gam": {"yearly_order": "10", "monthly_order": "2"}}

# The defaults before this study (explicit, so the comparison stays valid after the code changes).
OLD = {
    "gam": {"transform": "none", "loss": "huber", "z": "2.5758293035489004", "changepoints": "25",
            "changepoint_penalty": "0.01", "weekly_order": "3", "yearly_order": "10", "monthly_order": "2",
            "scale_floor": "0"},
    "seasonal-mad": {"weeks": "12", "min_history": "4", "z": "3", "scale_floor": "0.01"},
    "stl-esd": {"seasonal_window": "35", "alpha": "0.05", "max_anoms": "0.05", "z": "3", "scale_floor": "0.01"},
}


def log(msg):
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def run(cmd):
    log(" ".join(cmd))
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def tag(settings):
    return "_".join(f"{k}={v}" for k, v in sorted(settings.items())) or "defaults"


def backtest(args, data, model, settings, out, extra=()):
    """Runs (or reuses) one backtest; returns its directory."""
    if not os.path.exists(os.path.join(out, "summary.json")):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        cmd = [args.bin, "backtest", "--data", data, "--model", model, "--out", out, "--force",
               "--log-level", "warn"]
        for k, v in sorted(settings.items()):
            cmd += ["--set", f"{k}={v}"]
        run(cmd + list(extra))
    return out


def curve(run_dir):
    d = pd.read_csv(os.path.join(run_dir, "pr_curve.csv"))
    p, r = d.alert_precision, d.event_recall
    d["event_f1"] = (2 * p * r / (p + r)).fillna(0.0)
    return d


def objectives(run_dir, model, settings):
    """The objectives of one run, from its threshold curve."""
    d = curve(run_dir)
    if model == "stl-esd":  # only the configured z reproduces the ESD decision
        d = d[np.isclose(d.z, float(settings.get("z", 3)))]
    best = d.loc[d.event_f1.idxmax()]
    row = {"best_z": best.z, "event_f1": best.event_f1, "precision": best.alert_precision,
           "recall": best.event_recall, "dollar_recall": best.dollar_recall,
           "fa_per_1000sw": best.false_alerts_per_1000_series_weeks}
    ok = d[d.false_alerts_per_1000_series_weeks <= BUDGET]
    if len(ok):
        b = ok.loc[ok.event_recall.idxmax()]
        row.update(budget_z=b.z, budget_recall=b.event_recall, budget_dollar_recall=b.dollar_recall)
    else:
        row.update(budget_z=math.nan, budget_recall=math.nan, budget_dollar_recall=math.nan)
    okf = d[d.false_alerts_per_1000_series_weeks_filtered <= BUDGET]
    if len(okf):
        b = okf.loc[okf.event_recall_filtered.idxmax()]
        row.update(fbudget_z=b.z, fbudget_recall=b.event_recall_filtered,
                   fbudget_dollar_recall=b.dollar_recall_filtered)
    else:
        row.update(fbudget_z=math.nan, fbudget_recall=math.nan, fbudget_dollar_recall=math.nan)
    row["min_fa_per_1000sw"] = d.false_alerts_per_1000_series_weeks.min()
    with open(os.path.join(run_dir, "summary.json")) as f:
        s = json.load(f)
    row["wall_s"] = s["throughput"]["wall_seconds"]
    row["not_ok"] = sum(v for k, v in s["fit_status"].items() if k != "ok")
    return row


def choose(rows):
    best_f1 = max(r["event_f1"] for r in rows)
    tied = [r for r in rows if r["event_f1"] >= best_f1 - F1_TIE]
    return max(tied, key=lambda r: r["dollar_recall"])


def sweep_stage(args, model, data, base, grid, stage, table):
    """Runs base updated with each point of grid (a list of dicts); appends rows; returns the chosen row."""
    rows = []
    for point in grid:
        settings = dict(base, **point)
        out = os.path.join(args.work, "runs", "tune", model, tag(settings))
        r = objectives(backtest(args, data, model, settings, out, ["--no-alerts", "--no-baseline"]), model, settings)
        r.update(stage=stage, settings=settings)
        rows.append(r)
        table.append(r)
    chosen = choose(rows)
    log(f"{model} stage {stage}: chose {tag(chosen['settings'])} (F1 {chosen['event_f1']:.4f} at z {chosen['best_z']})")
    return chosen


def write_table(args, model, table):
    keys = sorted({k for r in table for k in r["settings"]})
    path = os.path.join(args.work, f"sweep_{model}.csv")
    cols = ["stage"] + keys + ["best_z", "event_f1", "precision", "recall", "dollar_recall", "fa_per_1000sw",
                               "budget_z", "budget_recall", "budget_dollar_recall", "fbudget_z", "fbudget_recall",
                               "fbudget_dollar_recall", "min_fa_per_1000sw", "not_ok", "wall_s"]
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(cols)
        for r in table:
            w.writerow([r["stage"]] + [r["settings"].get(k, "") for k in keys] + [fmt(r[c]) for c in cols[1 + len(keys):]])
    log(f"wrote {path}")
    print(md(pd.read_csv(path, dtype=str).fillna("")))


def md(d):
    """A markdown table (pandas' to_markdown needs tabulate, which Debian's python3 lacks)."""
    cells = [[fmt(v) for v in r] for r in d.itertuples(index=False)]
    lines = ["| " + " | ".join(map(str, d.columns)) + " |", "|" + " --- |" * len(d.columns)]
    return "\n".join(lines + ["| " + " | ".join(map(str, r)) + " |" for r in cells])


def fmt(x):
    return f"{x:.4f}" if isinstance(x, float) and not math.isnan(x) else ("" if isinstance(x, float) else x)


def datasets(args):
    paths = {}
    for name, seed in (("tune", args.tune_seed), ("test", args.test_seed)):
        paths[name] = os.path.join(args.work, f"{name}.h5")
        if not os.path.exists(paths[name]):
            run([args.bin, "generate", "--scenario", SCENARIO, "--series", str(args.series), "--seed", str(seed),
                 "--out", paths[name], "--log-level", "warn"])
    paths["intermittent"] = os.path.join(args.work, "intermittent.h5")
    if not os.path.exists(paths["intermittent"]):
        run([args.bin, "generate", "--scenario", INTERMITTENT, "--out", paths["intermittent"], "--log-level", "warn"])
    paths["hourly"] = os.path.join(args.work, "hourly_test.h5")
    if not os.path.exists(paths["hourly"]):
        run([args.bin, "generate", "--scenario", HOURLY, "--seed", str(args.test_seed), "--out", paths["hourly"],
             "--log-level", "warn"])
    return paths


def study_gam(args, data):
    table = []
    base = dict(OLD["gam"])
    del base["z"]  # the curve sweeps z
    c = sweep_stage(args, "gam", data, base, [{"transform": t, "loss": l} for t in ("none", "log1p")
                                              for l in ("huber", "bisquare")], "A transform x loss", table)
    base.update(transform=c["settings"]["transform"], loss=c["settings"]["loss"])
    c = sweep_stage(args, "gam", data, base, [{"huber_c": h} for h in ("1.345", "2", "3")], "B huber_c", table)
    base.update(huber_c=c["settings"]["huber_c"])
    c = sweep_stage(args, "gam", data, base, [{"changepoints": n, "changepoint_penalty": p}
                                              for n in ("0", "10", "25") for p in ("0.01", "0.1", "1")],
                    "C changepoints x penalty", table)
    base.update(changepoints=c["settings"]["changepoints"], changepoint_penalty=c["settings"]["changepoint_penalty"])
    for key, values in (("weekly_order", ("2", "3", "5")), ("yearly_order", ("0", "5", "10")),
                        ("monthly_order", ("0", "2"))):
        c = sweep_stage(args, "gam", data, base, [{key: v} for v in values], f"D {key}", table)
        base[key] = c["settings"][key]
    write_table(args, "gam", table)
    return dict(base, z=str(c["best_z"]))


def study_seasonal_mad(args, data):
    table = []
    base = {"min_history": "4"}
    c = sweep_stage(args, "seasonal-mad", data, base, [{"weeks": w, "scale_floor": f} for w in ("4", "8", "12", "16")
                                                        for f in ("0.01", "0.05", "0.2")], "A weeks x scale_floor", table)
    base = dict(c["settings"])  # the floor won at the grid's edge in stage A: extend it
    c = sweep_stage(args, "seasonal-mad", data, base, [{"scale_floor": f} for f in ("0.2", "0.3", "0.5", "1")],
                    "B scale_floor", table)
    write_table(args, "seasonal-mad", table)
    return dict(c["settings"], z=str(c["best_z"]))


def study_stl_esd(args, data):
    table = []
    base = {"seasonal_window": "35"}  # scale_floor at its default 0.01 until stage C
    c = sweep_stage(args, "stl-esd", data, base, [{"alpha": a, "max_anoms": m, "z": z} for a in ("0.05", "0.001")
                                                   for m in ("0.02", "0.05") for z in ("3", "5")],
                    "A alpha x max_anoms x z", table)
    base = dict(c["settings"])  # max_anoms won at the grid's edge in stage A: extend it
    c = sweep_stage(args, "stl-esd", data, base, [{"max_anoms": m} for m in ("0.005", "0.01", "0.02")],
                    "A2 max_anoms", table)
    base = dict(c["settings"])
    c = sweep_stage(args, "stl-esd", data, base, [{"seasonal_window": s} for s in ("13", "35", "101")],
                    "B seasonal_window", table)
    base = dict(c["settings"])  # the floor was seasonal-mad's largest lever: try it here too
    c = sweep_stage(args, "stl-esd", data, base, [{"scale_floor": f} for f in ("0.01", "0.05", "0.2", "0.5")],
                    "C scale_floor", table)
    write_table(args, "stl-esd", table)
    return c["settings"]


def shipped(chosen, model):
    return dict(chosen[model], **OVERRIDES.get(model, {}))


def profile_false_alerts(data, run_dir):
    """False alerts per 1,000 series-weeks and alert precision per usage profile, from alerts.csv."""
    with h5py.File(data) as f:
        s = pd.DataFrame(f["series"][:])
        columns = len(f.attrs["series_text_columns"])
        starts, text = f["series_text_offsets"][:], f["series_text"][:].tobytes()
        ends = list(starts[1:]) + [len(text)]
        cells = [text[a:b].decode("utf8") for a, b in zip(starts, ends)]
        names = {int(r[0]): r[1].decode() for r in f["usage_profiles"][:]}
        weeks = f.attrs["steps"] * f.attrs["step_seconds"] / (7 * 86400)
    s["key"] = [cells[i * columns] + "/" + cells[i * columns + 1] for i in range(len(s))]
    s["profile"] = s.profile.map(names)
    a = pd.read_csv(os.path.join(run_dir, "alerts.csv"), dtype={"customer": str, "meter": str, "true_event": str})
    a["profile"] = (a.customer + "/" + a.meter).map(s.set_index("key").profile)
    out = {}
    for p, n in s.profile.value_counts().items():
        ap = a[a.profile == p]
        false = (ap.true_event == "false").sum()
        out[p] = (1000 * false / (n * weeks), (ap.true_event == "true").sum() / max(len(ap), 1))
    return out


def confirm(args, paths, chosen):
    rows, prof = [], {}
    for model in ("gam", "seasonal-mad", "stl-esd"):
        variants = [("old", OLD[model]), ("shipped", shipped(chosen, model))]
        if model in OVERRIDES:
            variants.append(("sweep choice", chosen[model]))
        for name, settings in variants:
            for dataset, schedule in (("test", "retrospective"), ("hourly", "retrospective")) + (
                    (("test", "weekly"),) if model == "gam" else ()):
                out = os.path.join(args.work, "runs", f"confirm_{dataset}_{schedule}", model, name.replace(" ", "_"))
                backtest(args, paths[dataset], model, settings, out, ["--schedule", schedule])
                with open(os.path.join(out, "summary.json")) as f:
                    s = json.load(f)
                m, rb = s["metrics"], s["baseline_random"]["metrics"]
                o = objectives(out, model, settings)
                rows.append({"model": model, "defaults": name, "data": dataset, "schedule": schedule,
                             "event_precision": m["event"]["precision"], "event_recall": m["event"]["recall"],
                             "event_f1": m["event"]["f1"], "dollar_recall": m["dollar_recall"],
                             "fa_per_1000sw": m["false_alerts_per_1000_series_weeks"],
                             "fa_filtered": m["false_alerts_per_1000_series_weeks_filtered"],
                             "dollar_recall_filtered": m["dollar_recall_filtered"],
                             "recall_at_budget": o["budget_recall"], "filtered_recall_at_budget": o["fbudget_recall"],
                             "random_event_f1": rb["event"]["f1"], "random_dollar_recall": rb["dollar_recall"],
                             "alerts": s["alerts"]})
                if dataset == "test" and schedule == "retrospective":
                    prof[(model, name)] = profile_false_alerts(paths[dataset], out)
    d = pd.DataFrame(rows)
    d.to_csv(os.path.join(args.work, "confirm.csv"), index=False)
    print(md(d))
    p = pd.DataFrame({f"{m} {n}": {k: f"{v[0]:.1f} / {v[1]:.3f}" for k, v in x.items()} for (m, n), x in prof.items()})
    print("\nfalse alerts per 1,000 series-weeks / alert precision, per profile (test seed, retrospective)\n")
    print(md(p.reset_index().rename(columns={"index": "profile"})))


def nab_datasets(args):
    """NAB series at hourly steps (mean of each hour), each its own dataset, with its windows as labels:
    yields (name, dataset path, row of facts)."""
    with open(os.path.join(NAB, "windows.json")) as f:
        windows = json.load(f)
    work = os.path.join(args.work, "nab")
    os.makedirs(work, exist_ok=True)
    for rel in sorted(windows):
        name = os.path.basename(rel)[:-4]
        d = pd.read_csv(os.path.join(NAB, rel), parse_dates=["timestamp"])
        h = d.set_index("timestamp").value.resample("1h").mean().dropna()
        shift = max(0.0, -h.min())  # usage is non-negative; one artificial series dips below 0
        csv_path, lab_path, h5 = (os.path.join(work, f"{name}.{e}") for e in ("csv", "labels.csv", "h5"))
        pd.DataFrame({"customer": "nab", "meter": name, "date": h.index.strftime("%Y-%m-%dT%H:%M:%SZ"),
                      "quantity": h.values + shift}).to_csv(csv_path, index=False)
        pd.DataFrame({"customer": "nab", "meter": name,
                      "start": [pd.Timestamp(a).floor("h").strftime("%Y-%m-%dT%H:%M:%SZ") for a, _ in windows[rel]],
                      "end": [pd.Timestamp(b).floor("h").strftime("%Y-%m-%dT%H:%M:%SZ") for _, b in windows[rel]]}
                     ).to_csv(lab_path, index=False)
        if not os.path.exists(h5):
            run([args.bin, "ingest", "--csv", csv_path, "--step", "1h", "--labels", lab_path, "--out", h5,
                 "--log-level", "warn"])
        yield name, h5, {"series": name, "hours": len(h), "zero_share": float((h == 0).mean()), "shift": shift,
                         "windows": len(windows[rel])}


def nab(args, chosen):
    """The detectors, old and shipped defaults, on each NAB series (see nab_datasets)."""
    work = os.path.join(args.work, "nab")
    rows, pooled = [], {}
    for name, h5, row in nab_datasets(args):
        for model in ("gam", "seasonal-mad", "stl-esd"):
            for which, settings in (("old", OLD[model]), ("shipped", shipped(chosen, model))):
                out = os.path.join(work, "runs", name, model, which)
                backtest(args, h5, model, settings, out, ["--no-baseline", "--min-impact", "0"])
                with open(os.path.join(out, "summary.json")) as f:
                    e = json.load(f)["metrics"]["event"]
                row[f"{model} {which}"] = f"{e['caught']}/{e['events']} caught, {e['true_alerts']}/{e['true_alerts'] + e['false_alerts']} alerts true"
                for k in ("caught", "events", "true_alerts", "false_alerts"):
                    pooled[(model, which, k)] = pooled.get((model, which, k), 0) + e[k]
        rows.append(row)
    total = {"series": "all (pooled)"}
    for model in ("gam", "seasonal-mad", "stl-esd"):
        for which in ("old", "shipped"):
            c, n, t, f = (pooled[(model, which, k)] for k in ("caught", "events", "true_alerts", "false_alerts"))
            r, p = c / n, t / max(t + f, 1)
            total[f"{model} {which}"] = f"recall {r:.2f}, precision {p:.2f}, F1 {2 * p * r / max(p + r, 1e-12):.2f}"
    rows.append(total)
    d = pd.DataFrame(rows)
    d.to_csv(os.path.join(args.work, "nab.csv"), index=False)
    print(md(d))


GAM_FLOORS = ("0", "0.1", "0.2", "0.3", "0.5", "0.75", "1")
GAM_Z = 3.5  # the shipped z, kept: the floor is chosen at it


def at_z(run_dir, z):
    d = curve(run_dir)
    return d.loc[(d.z - z).abs().idxmin()]


def study_gam_floor(args, paths, chosen):
    """gam's scale_floor: the other parameters at their shipped values, z at GAM_Z.

    Rule (fixed before the test seed was run): on the tuning seed, among the floors whose dollar recall at
    GAM_Z is within F1_TIE of floor 0's (the floor must not cost dollars), the best event F1 at GAM_Z; F1
    differences below F1_TIE are ties, broken by the fewest false alerts on the intermittent profile. (A first
    version of the rule without the dollar guard chose 1, at the grid's edge, for -2.9 points of dollar
    recall; it was revised on the tuning table, before any test-seed result was read.) Then floor 0 (the old
    band), the choice and 1 are run on the test seed (retrospective and weekly), on the hourly scenario and
    on intermittent.toml, with false alerts per profile."""
    base = dict(shipped(chosen, "gam")) if "gam" in chosen else dict(OLD["gam"], z=str(GAM_Z))
    base["z"] = str(GAM_Z)
    rows = []
    for f in GAM_FLOORS:
        settings = dict(base, scale_floor=f)
        out = backtest(args, paths["tune"], "gam", settings,
                       os.path.join(args.work, "runs", "tune", "gam_floor", f), ["--no-baseline"])
        r, o = at_z(out, GAM_Z), objectives(out, "gam", settings)
        prof = profile_false_alerts(paths["tune"], out)
        f1 = 2 * r.alert_precision * r.event_recall / max(r.alert_precision + r.event_recall, 1e-12)
        rows.append({"scale_floor": f, "event_f1": f1, "precision": r.alert_precision, "recall": r.event_recall,
                     "dollar_recall": r.dollar_recall, "fa_per_1000sw": r.false_alerts_per_1000_series_weeks,
                     "fa_filtered": r.false_alerts_per_1000_series_weeks_filtered,
                     "fa_intermittent": prof["intermittent"][0], "fa_heavy_tailed": prof["heavy_tailed"][0],
                     "best_z": o["best_z"], "best_f1": o["event_f1"], "min_fa_per_1000sw": o["min_fa_per_1000sw"],
                     "budget_recall": o["budget_recall"], "filtered_budget_recall": o["fbudget_recall"]})
    d = pd.DataFrame(rows)
    d.to_csv(os.path.join(args.work, "sweep_gam_floor.csv"), index=False)
    print(md(d))
    safe = d[d.dollar_recall >= d.dollar_recall[d.scale_floor == "0"].iloc[0] - F1_TIE]
    best = safe.event_f1.max()
    pick = safe[safe.event_f1 >= best - F1_TIE].sort_values("fa_intermittent").iloc[0]
    floor = pick.scale_floor
    log(f"gam scale_floor: chose {floor} (F1 {pick.event_f1:.4f} at z {GAM_Z})")
    chosen.setdefault("gam", {k: v for k, v in base.items()})["scale_floor"] = floor
    chosen["gam"]["z"] = str(GAM_Z)

    rows, prof = [], {}
    datasets = (("test", "retrospective"), ("test", "weekly"), ("hourly", "retrospective"),
                ("intermittent", "retrospective"))
    for f in sorted({"0", floor, GAM_FLOORS[-1]}, key=float):
        for dataset, schedule in datasets:
            settings = dict(base, scale_floor=f)
            out = backtest(args, paths[dataset], "gam", settings,
                           os.path.join(args.work, "runs", f"floor_{dataset}_{schedule}", f), ["--schedule", schedule])
            with open(os.path.join(out, "summary.json")) as fh:
                s = json.load(fh)
            m = s["metrics"]
            o = objectives(out, "gam", settings)
            rows.append({"scale_floor": f, "data": dataset, "schedule": schedule, "event_precision": m["event"]["precision"],
                         "event_recall": m["event"]["recall"], "event_f1": m["event"]["f1"],
                         "dollar_recall": m["dollar_recall"], "fa_per_1000sw": m["false_alerts_per_1000_series_weeks"],
                         "fa_filtered": m["false_alerts_per_1000_series_weeks_filtered"],
                         "recall_at_budget": o["budget_recall"], "filtered_recall_at_budget": o["fbudget_recall"],
                         "min_fa_per_1000sw": o["min_fa_per_1000sw"],
                         "random_event_f1": s["baseline_random"]["metrics"]["event"]["f1"]})
            if dataset == "test" and schedule == "retrospective":
                prof[f] = profile_false_alerts(paths[dataset], out)
    d = pd.DataFrame(rows)
    d.to_csv(os.path.join(args.work, "confirm_gam_floor.csv"), index=False)
    print(md(d))
    p = pd.DataFrame({f"scale_floor {f}": {k: f"{v[0]:.1f} / {v[1]:.3f}" for k, v in x.items()} for f, x in prof.items()})
    print("\nfalse alerts per 1,000 series-weeks / alert precision, per profile (test seed, retrospective)\n")
    print(md(p.reset_index().rename(columns={"index": "profile"})))

    if not os.path.isdir(NAB):
        return
    rows = []
    for name, h5, row in nab_datasets(args):
        for f in ("0", floor):
            out = backtest(args, h5, "gam", dict(base, scale_floor=f),
                           os.path.join(args.work, "nab", "runs", name, "gam_floor", f), ["--no-baseline", "--min-impact", "0"])
            with open(os.path.join(out, "summary.json")) as fh:
                e = json.load(fh)["metrics"]["event"]
            row[f"scale_floor {f}"] = f"{e['caught']}/{e['events']}, {e['true_alerts']}/{e['true_alerts'] + e['false_alerts']}"
        rows.append(row)
    print("\nNAB (events caught / events, true alerts / alerts)\n")
    print(md(pd.DataFrame(rows)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", default="generate,gam,seasonal-mad,stl-esd,confirm,nab")  # also: gam-floor
    ap.add_argument("--work", default="/tmp/defaults")
    ap.add_argument("--series", type=int, default=20000)
    ap.add_argument("--tune-seed", type=int, default=101)
    ap.add_argument("--test-seed", type=int, default=202)
    ap.add_argument("--bin", default=os.path.join(ROOT, "build/release/tools/meterbench"))
    args = ap.parse_args()
    steps = args.steps.split(",")
    os.makedirs(args.work, exist_ok=True)
    paths = datasets(args)
    chosen_path = os.path.join(args.work, "chosen.json")
    chosen = json.load(open(chosen_path)) if os.path.exists(chosen_path) else {}
    for model, fn in (("gam", study_gam), ("seasonal-mad", study_seasonal_mad), ("stl-esd", study_stl_esd)):
        if model in steps:
            chosen[model] = fn(args, paths["tune"])
            with open(chosen_path, "w") as f:
                json.dump(chosen, f, indent=1)
    if "gam-floor" in steps:
        study_gam_floor(args, paths, chosen)
        with open(chosen_path, "w") as f:
            json.dump(chosen, f, indent=1)
    print(json.dumps({"rule's choice": chosen, "overrides": OVERRIDES}, indent=1))
    if "confirm" in steps:
        confirm(args, paths, chosen)
    if "nab" in steps:
        nab(args, chosen)


if __name__ == "__main__":
    main()
