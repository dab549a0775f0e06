#!/usr/bin/python3
"""The HTML report of a meterbench run directory (`meterbench report DIR` runs this script).

A backtest directory (summary.json, per_kind.csv, pr_curve.csv, alerts.csv, optional per_size_bucket.csv and
bands.h5) or a sweep directory (sweep.csv, best.json with "kind": "sweep") becomes one HTML page and a folder
of PNG figures referenced relatively, so the pair reads offline. The C++ command validates the directory,
stages the outputs under temporary names and renames them when this script succeeds; the script writes only
where it is told.

Every figure has a fixed pixel size (FIGURE_SIZES at DPI, no tight bounding box), so a test can check it, and
the output is a function of the run directory alone (series are sampled deterministically, no timestamps).
Needs Debian's python3-matplotlib, python3-numpy, python3-pandas and python3-h5py (for bands.h5).
"""
import argparse
import html
import json
import math
import os
import sys

import matplotlib

matplotlib.use("Agg")  # no display: files only
import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

DPI = 100
# Figure sizes in pixels (checked by tests/report).
FIGURE_SIZES = {
    "series": (1100, 360),
    "pr_curve": (1100, 460),
    "recall": (1100, 440),
    "time_to_detect": (800, 400),
    "false_alerts": (1100, 440),
    "sweep_heatmap": (900, 600),
    "sweep_parallel": (1100, 500),
    "sweep_thresholds": (900, 460),
}
# The reference service's picture: expected range in yellow, observed inside as green stars, outside as red dots.
BAND_COLOUR = "#f5d33b"
EXPECTED_COLOUR = "#a8870a"
INSIDE_COLOUR = "#2e9d3a"
OUTSIDE_COLOUR = "#d62728"
EVENT_COLOUR = "#7b4fc9"
GAP_COLOUR = "#9a9a9a"
MODEL_COLOUR = "#1f5fa8"
RANDOM_COLOUR = "#9a9a9a"
FILTERED_COLOUR = "#e07b00"


class ReportError(Exception):
    """Bad input: the message names the file and what is wrong."""


# ----------------------------------------------------------------------------------------------------------
# small helpers


def load_json(path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise ReportError(f"{path}: not valid JSON (line {e.lineno}, column {e.colno}: {e.msg})") from e


def load_csv(path, required):
    try:
        df = pd.read_csv(path)
    except OSError as e:
        raise ReportError(f"cannot read {path}: {e.strerror}") from e
    except (pd.errors.ParserError, pd.errors.EmptyDataError) as e:
        raise ReportError(f"{path}: not a readable CSV ({e})") from e
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ReportError(f"{path}: missing column(s) {', '.join(missing)}")
    return df


def get(d, *path, default=None):
    for key in path:
        if not isinstance(d, dict) or key not in d or d[key] is None:
            return default
        d = d[key]
    return d


def fmt(v, digits=4):
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "n/a"
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        if v != 0 and (abs(v) >= 1e6 or abs(v) < 1e-3):
            return f"{v:.{digits - 1}g}" if abs(v) < 1e-3 else f"{v:,.0f}"
        return f"{v:.{digits}f}" if abs(v) < 1000 else f"{v:,.1f}"
    return str(v)


def esc(v):
    return html.escape(str(v))


def table(rows, header=None, cls="data"):
    out = [f'<table class="{cls}">']
    if header:
        out.append("<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{c if isinstance(c, Raw) else esc(c)}</td>" for c in row) + "</tr>")
    out.append("</table>")
    return "\n".join(out)


def value_rows(items, label="{}"):
    """Table rows (label, formatted value) of a dict's items or of (key, value) pairs, in order; `label` formats the key."""
    return [(label.format(k), fmt(v)) for k, v in (items.items() if isinstance(items, dict) else items or ())]


def metrics_and_random(summary):
    """The run's metrics and those of the random baseline at the same flag rate ({} where absent)."""
    return summary.get("metrics") or {}, get(summary, "baseline_random", "metrics") or {}


class Raw(str):
    """HTML that table() must not escape."""


class Page:
    """Collects the HTML body and writes figures into the figures folder."""

    def __init__(self, figures_dir, figures_href):
        self.figures_dir = figures_dir
        self.figures_href = figures_href
        self.parts = []
        self.figures = []

    def add(self, text):
        self.parts.append(text)

    def note(self, text):
        self.parts.append(f'<p class="note">{esc(text)}</p>')

    def figure(self, fig, name, kind, caption):
        px_w, px_h = FIGURE_SIZES[kind]
        # matplotlib truncates inches x dpi to whole pixels (4.6 x 100 -> 459): half a pixel more lands on the size.
        fig.set_size_inches((px_w + 0.5) / DPI, (px_h + 0.5) / DPI)
        path = os.path.join(self.figures_dir, name)
        # No tight bounding box: the PNG must be exactly the size above. No software tag: same bytes every run.
        fig.savefig(path, dpi=DPI, metadata={"Software": None})
        plt.close(fig)
        href = f"{self.figures_href}/{name}"
        self.figures.append(name)
        self.parts.append(
            f'<figure><img src="{esc(href)}" width="{px_w}" height="{px_h}" alt="{esc(caption)}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>"
        )


CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 24px auto; max-width: 1160px;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 4px; margin-top: 1.8em; }
table.data { border-collapse: collapse; margin: 8px 0 16px 0; font-size: 0.92em; }
table.data th, table.data td { border: 1px solid #ddd; padding: 3px 8px; text-align: left; vertical-align: top; }
table.data th { background: #f4f4f4; }
table.data td:not(:first-child) { font-variant-numeric: tabular-nums; }
figure { margin: 12px 0 20px 0; } figcaption { font-size: 0.9em; color: #555; max-width: 1100px; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
.note { background: #fff8dc; border-left: 4px solid #e0b400; padding: 6px 10px; }
.sub { color: #555; } code, pre { background: #f6f6f6; padding: 1px 4px; } pre { padding: 8px; overflow-x: auto; white-space: pre-wrap; }
"""


def write_html(path, title, body):
    text = (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<title>{esc(title)}</title>\n<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n"
    )
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def context_rows(context):
    keys = [("tool_version", "tool version (commit, build)"), ("build_type", "build type"), ("cpu", "CPU"),
            ("cores", "cores"), ("threads", "threads"), ("libraries", "libraries"), ("started_at", "started at (UTC)")]
    rows = [(label, fmt(context[k])) for k, label in keys if k in context]
    if context.get("unoptimized_build"):
        rows.append(("warning", "unoptimised build: timings are meaningless"))
    return rows


# ----------------------------------------------------------------------------------------------------------
# backtest directory


def headline_table(summary):
    m, r = metrics_and_random(summary)
    rows_spec = [
        ("point precision", ("point", "precision"), None),
        ("point recall", ("point", "recall"), None),
        ("point F1", ("point", "f1"), None),
        ("event precision (alerts that hit an event)", ("event", "precision"), ("event_filtered", "precision")),
        ("event recall (k-delay rule)", ("event", "recall"), ("event_filtered", "recall")),
        ("event F1", ("event", "f1"), ("event_filtered", "f1")),
        ("range recall (Tatbul)", ("range", "recall"), ("range_filtered", "recall")),
        ("range precision (Tatbul)", ("range", "precision"), ("range_filtered", "precision")),
        ("dollar-weighted recall", ("dollar_recall",), ("dollar_recall_filtered",)),
        ("false alerts per 1,000 series-weeks", ("false_alerts_per_1000_series_weeks",),
         ("false_alerts_per_1000_series_weeks_filtered",)),
        ("AUC-PR (point-wise)", ("auc_pr",), None),
        ("time to detect p50, days", ("time_to_detect", "p50_days"), ("time_to_detect_filtered", "p50_days")),
        ("time to detect p90, days", ("time_to_detect", "p90_days"), ("time_to_detect_filtered", "p90_days")),
        ("events caught within 7 days", ("time_to_detect", "within_7_days"), ("time_to_detect_filtered", "within_7_days")),
        ("flag rate (flagged / observed steps)", ("flag_rate",), None),
    ]
    impact = get(summary, "evaluation", "impact_filter_usd")
    rows = []
    for label, path, fpath in rows_spec:
        d = 1 if label.endswith("days") else 4  # delays are whole steps: 4 decimals of days say nothing
        rows.append((label, fmt(get(m, *path), d), fmt(get(m, *fpath), d) if fpath else "", fmt(get(r, *path), d)))
    header = ["metric", summary["model"]["name"], f"{summary['model']['name']}, alerts >= {fmt(impact, 0)} USD only",
              "random at the same flag rate"]
    return table(rows, header)


def series_sample(ds, alerts, count):
    """Series indices to draw, chosen deterministically: first those with a caught event (a true alert), then
    those with events and alerts, events only, alerts only, the rest; spread evenly over each group's index
    order so the sample shows different profiles."""
    n = ds["series_count"]
    events = ds["events"]
    codes = {name: code for code, name in ds["kinds"].items()}
    kinds = events["kind"] if len(events) else np.array([], dtype=np.uint8)
    real = (kinds != codes.get("gap", 11)) & (kinds != codes.get("normal", 0))
    has_events = np.zeros(n, dtype=bool)
    if len(events):
        has_events[events["series"][real].astype(np.int64)] = True
    n_alerts = np.zeros(n, dtype=np.int64)
    n_true = np.zeros(n, dtype=np.int64)
    if alerts is not None and len(alerts):
        index = {k: i for i, k in enumerate(zip(ds["customer"], ds["meter"]))}
        for (c, mtr), t in zip(zip(alerts["customer"].astype(str), alerts["meter"].astype(str)), alerts["true_event"]):
            i = index.get((c, mtr))
            if i is not None:
                n_alerts[i] += 1
                n_true[i] += bool(t) if not isinstance(t, str) else t.lower() == "true"
    groups = [
        np.flatnonzero(has_events & (n_true > 0)),
        np.flatnonzero(has_events & (n_alerts > 0) & (n_true == 0)),
        np.flatnonzero(has_events & (n_alerts == 0)),
        np.flatnonzero(~has_events & (n_alerts > 0)),
        np.flatnonzero(~has_events & (n_alerts == 0)),
    ]
    chosen = []
    for g in groups:
        need = count - len(chosen)
        if need <= 0:
            break
        if len(g) <= need:
            chosen.extend(int(i) for i in g)
        else:
            chosen.extend(int(g[(k * len(g)) // need]) for k in range(need))
    return sorted(chosen), n_alerts, n_true


def read_dataset(path, rows):
    import h5py  # only needed for the series pictures

    with h5py.File(path, "r") as f:
        if f.attrs.get("format") not in ("meterbench-dataset", b"meterbench-dataset"):
            raise ReportError(f"{path}: not a meterbench dataset (attribute 'format' is {f.attrs.get('format')!r})")
        for name in ("series", "values"):
            if name not in f:
                raise ReportError(f"{path}: no /{name} dataset (not a complete meterbench dataset)")
        series = f["series"][:]

        def names(table):  # code -> name; ingested files without labels have no /anomaly_kinds
            if table not in f:
                return {}
            return {int(c): (n.decode() if isinstance(n, bytes) else str(n)) for c, n in f[table][:]}

        kinds = names("anomaly_kinds")
        profiles = names("usage_profiles")
        out = {
            "has_labels": bool(f.attrs.get("has_labels", 0)),
            "series_count": int(f.attrs["series_count"]),
            "steps": int(f.attrs["steps"]),
            "start_unix_seconds": int(f.attrs["start_unix_seconds"]),
            "step_seconds": int(f.attrs["step_seconds"]),
            "customer": [c.decode() for c in series["customer_id"]],
            "meter": [m.decode() for m in series["meter_id"]],
            "profile": [profiles.get(int(p), str(p)) for p in series["profile"]],
            "events": f["events"][:] if "events" in f else np.zeros(0),
            "kinds": kinds,
            "values": None,
        }
        if rows is not None:
            out["values"] = {int(i): f["values"][int(i), :].astype(np.float64) for i in rows}
    return out


def runs(mask):
    """(start, end) index pairs of the True runs of a boolean array, end exclusive."""
    d = np.diff(np.concatenate(([0], mask.astype(np.int8), [0])))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def event_label(name, size_sigma):
    """Kind and size in noise-scale units; unit errors are thousands of sigma, which says little."""
    if not math.isfinite(size_sigma) or size_sigma <= 0:
        return name
    return f"{name} {size_sigma:.0f}\u03c3" if size_sigma < 1000 else f"{name} >1000\u03c3"


def draw_series(page, i, ds, bands, n_alerts, n_true, z):
    y = ds["values"][i]
    exp, lo, up = (bands[k][i] for k in ("expected", "lower", "upper"))  # the rows read, by series index
    t0 = np.datetime64(ds["start_unix_seconds"], "s")
    step = np.timedelta64(ds["step_seconds"], "s")
    x = t0 + step * np.arange(len(y))
    half = step / 2
    fig, ax = plt.subplots(constrained_layout=True)
    scored = np.isfinite(lo) & np.isfinite(up)
    ax.fill_between(x, lo, up, where=scored, color=BAND_COLOUR, alpha=0.6, linewidth=0, label="expected range", zorder=1)
    ax.plot(x, np.where(scored, exp, np.nan), color=EXPECTED_COLOUR, linewidth=0.8, label="expected", zorder=2)
    ax.plot(x, y, color="#555555", linewidth=0.4, alpha=0.6, zorder=2)  # breaks at gaps (NaN)
    observed = np.isfinite(y)
    outside = observed & scored & ((y < lo) | (y > up))
    inside = observed & scored & ~outside
    unscored = observed & ~scored  # the weekly schedule scores only its last weeks
    # Off-scale values (unit errors of x1000) would flatten everything else: the axis follows the band and the
    # bulk of the usage, and values beyond it are drawn at the edge as triangles.
    both = np.concatenate([y[observed], lo[scored], up[scored]])
    if both.size:
        top = max(np.percentile(up[scored], 99.5) if scored.any() else -np.inf, np.percentile(y[observed], 98.5) if observed.any() else -np.inf)
        bottom = min(np.percentile(lo[scored], 0.5) if scored.any() else np.inf, np.percentile(y[observed], 1.5) if observed.any() else np.inf)
        if not math.isfinite(top) or not math.isfinite(bottom) or top <= bottom:
            top, bottom = float(np.nanmax(both)) + 1, float(np.nanmin(both)) - 1
        # Clip only what lies far off (more than twice the bulk's span beyond it): ordinary outliers stay drawn.
        span = top - bottom
        top = max(top, max((v for v in both if v <= top + 2 * span), default=top))
        bottom = min(bottom, min((v for v in both if v >= bottom - 2 * span), default=bottom))
        pad = 0.08 * (top - bottom)
        top, bottom = top + pad, bottom - pad
    else:
        top, bottom = 1.0, 0.0
    ax.set_ylim(bottom, top)
    yc = np.clip(y, bottom, top)
    over = observed & ((y > top) | (y < bottom))
    size = 5.0 if len(y) <= 800 else 3.5 if len(y) <= 2000 else 2.5  # dense (hourly) series get smaller markers
    ax.plot(x[inside & ~over], yc[inside & ~over], linestyle="none", marker="*", markersize=size, color=INSIDE_COLOUR,
            label="observed, inside", zorder=4)
    if (outside & ~over).any():
        ax.plot(x[outside & ~over], yc[outside & ~over], linestyle="none", marker="o", markersize=size * 0.8,
                color=OUTSIDE_COLOUR, label="observed, outside", zorder=5)
    if unscored.any():
        ax.plot(x[unscored & ~over], yc[unscored & ~over], linestyle="none", marker=".", markersize=3, color="#777777",
                label="observed, not scored", zorder=3)
    if over.any():
        ax.plot(x[over & (y > top)], np.full(int((over & (y > top)).sum()), top), linestyle="none", marker="^", markersize=7,
                color=OUTSIDE_COLOUR if (outside & over).any() else INSIDE_COLOUR, clip_on=False, zorder=6,
                label=f"off scale (max {float(np.nanmax(y)):.4g})")
        low = over & (y < bottom)
        if low.any():
            ax.plot(x[low], np.full(int(low.sum()), bottom), linestyle="none", marker="v", markersize=7,
                    color=OUTSIDE_COLOUR, clip_on=False, zorder=6)
    for a, b in runs(~observed):
        ax.axvspan(x[a] - half, x[b - 1] + half, facecolor=GAP_COLOUR, alpha=0.18, hatch="///", edgecolor=GAP_COLOUR,
                   linewidth=0, label="gap (not reported)", zorder=0)
    ev = ds["events"]
    kinds = ds["kinds"]
    n_events = 0
    if len(ev):
        mine = ev[ev["series"] == i]
        for e in mine:
            name = kinds.get(int(e["kind"]), str(e["kind"]))
            if name in ("gap", "normal"):
                continue
            n_events += 1
            a, b = int(e["start"]), int(e["end"])
            ax.axvspan(x[a] - half, x[b] + half, facecolor=EVENT_COLOUR, alpha=0.16, linewidth=0, label="true event",
                       zorder=0)
            # A day is a pixel or two wide on a two-year axis: a solid strip and a marker at the bottom keep short
            # events visible.
            ax.axvspan(x[a] - half, x[b] + half, ymin=0, ymax=0.03, facecolor=EVENT_COLOUR, alpha=0.9, linewidth=0, zorder=3)
            ax.plot([x[a]], [0.0], marker="^", markersize=6, color=EVENT_COLOUR, transform=ax.get_xaxis_transform(),
                    clip_on=False, zorder=6)
            ax.annotate(event_label(name, float(e["size_sigma"])),
                        (x[a], 1.0), xycoords=("data", "axes fraction"), xytext=(1, -2), textcoords="offset points",
                        fontsize=7, color=EVENT_COLOUR, va="top", rotation=90)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    ax.set_xlim(x[0] - half, x[-1] + half)
    locator = mdates.AutoDateLocator()
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))
    ax.set_ylabel("usage")
    ax.grid(alpha=0.25)
    truth = (f"{n_events} true events, {n_alerts[i]} alerts ({n_true[i]} on an event)" if ds["has_labels"]
             else f"no labels, {n_alerts[i]} alerts")
    ax.set_title(f"{ds['customer'][i]} / {ds['meter'][i]} (series {i}, {ds['profile'][i]}): {truth}, "
                 f"{int((~observed).sum())} missing steps", fontsize=10)
    caption = (f"Series {i}: {ds['customer'][i]} / {ds['meter'][i]}. Yellow: expected range (z = {fmt(z, 3)}); green stars: "
               f"observed usage inside it; red dots: outside it (flagged); purple: true injected events; hatched grey: gaps.")
    page.figure(fig, f"series_{i}.png", "series", caption)


def series_section(page, run_dir, summary, alerts, args):
    page.add("<h2>Expected range and observed usage, sampled series</h2>")
    bands_path = os.path.join(run_dir, "bands.h5")
    if not os.path.exists(bands_path):
        page.note("No bands.h5 in the run directory: run `meterbench backtest ... --save-bands` to see the expected range "
                  "of sampled series here.")
        return
    data = args.data or get(summary, "dataset", "path")
    if data and not os.path.isabs(data) and not os.path.exists(data):
        # summary.json keeps the path as given to backtest, relative to where it ran: most often beside the run
        # directory. A wrong file of the same name is caught by the shape check below.
        for base in (os.path.dirname(os.path.abspath(run_dir)), run_dir):
            if os.path.exists(os.path.join(base, data)):
                data = os.path.join(base, data)
                break
    if not data or not os.path.exists(data):
        page.note(f"The dataset {data or '(not recorded)'} named in summary.json is not there: pass --data FILE.h5 to draw the "
                  "sampled series.")
        print(f"report: warning: dataset {data} not found; series pictures skipped (use --data)", file=sys.stderr)
        return
    import h5py

    ds = read_dataset(data, None)
    with h5py.File(bands_path, "r") as b:
        shape = b["expected"].shape
        if shape != (ds["series_count"], ds["steps"]):
            raise ReportError(f"{bands_path}: bands are {shape[0]} x {shape[1]} but the dataset {data} is "
                              f"{ds['series_count']} x {ds['steps']} (wrong --data?)")
        rows, n_alerts, n_true = series_sample(ds, alerts, min(args.series, ds["series_count"]))
        ds = read_dataset(data, rows)
        bands = {k: {i: b[k][i, :].astype(np.float64) for i in rows} for k in ("expected", "lower", "upper")}
    page.add(f"<p class=\"sub\">{len(rows)} of {ds['series_count']:,} series, chosen deterministically: series with a caught "
             "event first, then with events and alerts, events only, alerts only; evenly spread over the series order. "
             f"Dataset: <code>{esc(data)}</code>.</p>")
    z = get(summary, "model", "flag_threshold")
    for i in rows:
        draw_series(page, i, ds, bands, n_alerts, n_true, z)


def nearest_curve_row(curve, z):
    return curve.iloc[int(np.argmin(np.abs(curve["z"].to_numpy() - z)))]


def pr_section(page, summary, curve):
    page.add("<h2>Precision and recall over the threshold</h2>")
    m, r = metrics_and_random(summary)
    z = get(summary, "model", "flag_threshold")
    fig, axes = plt.subplots(1, 2, constrained_layout=True)
    specs = [
        (axes[0], "point_recall", "point_precision", ("point",), "point-wise (each step)", f"AUC-PR {fmt(m.get('auc_pr'), 3)}"),
        (axes[1], "event_recall", "alert_precision", ("event",), "event-wise (alerts and events, k-delay rule)", None),
    ]
    for ax, xr, yp, key, title, extra in specs:
        c = curve.dropna(subset=[xr, yp])
        ax.plot(c[xr], c[yp], color=MODEL_COLOUR, linewidth=1.6, label=summary["model"]["name"] + (f" ({extra})" if extra else ""))
        for zz in (1, 2, 3, 4, 6, 8):
            row = c[np.isclose(c["z"], zz)]
            if len(row):
                ax.annotate(f"z={zz}", (row[xr].iloc[0], row[yp].iloc[0]), fontsize=7, color="#555", xytext=(3, 3),
                            textcoords="offset points")
                ax.plot(row[xr], row[yp], "o", markersize=2.5, color="#555")
        p, rc = get(m, *key, "precision"), get(m, *key, "recall")
        if p is not None and rc is not None:
            ax.plot([rc], [p], marker="D", markersize=9, color=OUTSIDE_COLOUR, linestyle="none",
                    label=f"chosen threshold z = {fmt(z, 3)}: P {p:.3f}, R {rc:.3f}", zorder=5)
        rp, rr = get(r, *key, "precision"), get(r, *key, "recall")
        if rp is not None and rr is not None:
            ax.plot([rr], [rp], marker="s", markersize=8, color=RANDOM_COLOUR, markeredgecolor="black", linestyle="none",
                    label=f"random at the same flag rate: P {rp:.3f}, R {rr:.3f}", zorder=5)
        ax.set_xlim(0, 1.0)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("recall")
        ax.set_ylabel("precision")
        ax.set_title(title, fontsize=10)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper right")
    page.figure(fig, "pr_curve.png", "pr_curve",
                "Precision against recall as the threshold z moves (from one fit, via score histograms); the diamond is the "
                "run's threshold, the square the random detector at the same flag rate.")


def outcome_frame(path, key_column, fallback):
    """per_kind.csv / per_size_bucket.csv, or the same table from summary.json when the file is absent."""
    if os.path.exists(path):
        df = load_csv(path, [key_column, "events", "caught", "recall"])
        # Older runs wrote size buckets ("[0,3)") unquoted: pandas then shifts the names into the index.
        if isinstance(df.index, pd.RangeIndex) or not fallback:
            return df
    if not fallback:
        return None
    rows = [{key_column: k, **v} for k, v in fallback.items()]
    if key_column == "size_bucket":  # JSON keys are sorted as text: "[12,inf)" before "[3,5)"
        rows.sort(key=lambda row: float(row[key_column].strip("[").split(",")[0]))
    return pd.DataFrame(rows) if rows else None


def recall_section(page, run_dir, summary):
    page.add("<h2>Recall per anomaly kind and per size</h2>")
    m, r = metrics_and_random(summary)
    kinds = outcome_frame(os.path.join(run_dir, "per_kind.csv"), "kind", m.get("per_kind"))
    sizes = outcome_frame(os.path.join(run_dir, "per_size_bucket.csv"), "size_bucket", m.get("per_size_bucket"))
    fig, axes = plt.subplots(1, 2, constrained_layout=True, gridspec_kw={"width_ratios": [1.4, 1]})
    for ax, df, key, rkey, title in ((axes[0], kinds, "kind", "per_kind", "per anomaly kind"),
                                     (axes[1], sizes, "size_bucket", "per_size_bucket", "per event size, in sigma (noise scale)")):
        if df is None or not len(df):
            ax.text(0.5, 0.5, "no events", ha="center", va="center")
            ax.set_axis_off()
            continue
        df = df[df["events"] > 0]
        names = list(df[key].astype(str))
        pos = np.arange(len(names))
        model = df["recall"].astype(float).to_numpy()
        rand = np.array([get(r, rkey, n, "recall", default=np.nan) for n in names], dtype=float)
        h = 0.38
        if key == "kind":
            ax.barh(pos - h / 2, model, h, color=MODEL_COLOUR, label=summary["model"]["name"])
            ax.barh(pos + h / 2, rand, h, color=RANDOM_COLOUR, label="random, same flag rate")
            for p_, v, c, e in zip(pos, model, df["caught"], df["events"]):
                ax.annotate(f"{int(c)}/{int(e)}", (v if np.isfinite(v) else 0, p_ - h / 2), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=7)
            ax.set_yticks(pos, names, fontsize=8)
            ax.invert_yaxis()
            ax.set_xlim(0, 1.12)
            ax.set_xlabel("event recall")
            ax.grid(axis="x", alpha=0.3)
        else:
            ax.bar(pos - h / 2, model, h, color=MODEL_COLOUR, label=summary["model"]["name"])
            ax.bar(pos + h / 2, rand, h, color=RANDOM_COLOUR, label="random, same flag rate")
            for p_, v, c, e in zip(pos, model, df["caught"], df["events"]):
                ax.annotate(f"{int(c)}/{int(e)}", (p_ - h / 2, v if np.isfinite(v) else 0), xytext=(0, 2),
                            textcoords="offset points", ha="center", fontsize=7)
            ax.set_xticks(pos, names, fontsize=8)
            ax.set_ylim(0, 1.1)
            ax.set_xlabel("size bucket (sigma)")
            ax.set_ylabel("event recall")
            ax.grid(axis="y", alpha=0.3)
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=8, loc="lower right" if key == "kind" else "upper left")
    page.figure(fig, "recall.png", "recall",
                "Share of true events caught (k-delay rule), with caught/events; grey: the random detector at the same flag rate.")


def ttd_section(page, summary):
    page.add("<h2>Time to detect</h2>")
    m = summary.get("metrics") or {}
    ttd = m.get("time_to_detect") or {}
    hist = ttd.get("delay_histogram_steps")
    if not hist:
        page.note("summary.json has no time_to_detect.delay_histogram_steps (written by newer meterbench versions).")
        return
    spw = get(m, "config", "steps_per_week", default=7)
    days = np.arange(len(hist)) * 7.0 / spw
    events = get(m, "event", "events", default=0)
    caught = sum(hist)
    fig, ax = plt.subplots(constrained_layout=True)
    width = 7.0 / spw * 0.8
    ax.bar(days, hist, width=width, color=MODEL_COLOUR)
    for key, style in (("p50_days", "--"), ("p90_days", ":")):
        v = ttd.get(key)
        if v is not None:
            ax.axvline(v, color=OUTSIDE_COLOUR, linestyle=style, linewidth=1.2, label=f"{key[:3]} = {v:g} days")
    ax.set_xlabel("delay from event start to the alert that caught it, days")
    ax.set_ylabel("caught events")
    ax.set_title(f"{caught:,} of {events:,} events caught within the tolerance; {events - caught:,} missed", fontsize=10)
    ax.grid(axis="y", alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    page.figure(fig, "time_to_detect.png", "time_to_detect",
                "Distribution of detection delays of caught events (retrospective schedule: the delay of the first flagged "
                "step; weekly schedule: of the run that raised the alert).")


def false_alerts_section(page, summary, curve):
    page.add("<h2>False alerts and recall over the threshold</h2>")
    m, r = metrics_and_random(summary)
    z = get(summary, "model", "flag_threshold")
    impact = get(summary, "evaluation", "impact_filter_usd")
    fig, axes = plt.subplots(1, 2, constrained_layout=True)
    ax = axes[0]
    ax.plot(curve["z"], curve["false_alerts_per_1000_series_weeks"], color=MODEL_COLOUR, label="all alerts")
    ax.plot(curve["z"], curve["false_alerts_per_1000_series_weeks_filtered"], color=FILTERED_COLOUR,
            label=f"alerts >= {fmt(impact, 0)} USD")
    rv = r.get("false_alerts_per_1000_series_weeks")
    if rv is not None:
        ax.axhline(rv, color=RANDOM_COLOUR, linestyle="--", label=f"random at the same flag rate ({rv:.1f})")
    v = m.get("false_alerts_per_1000_series_weeks")
    if z is not None:
        ax.axvline(z, color=OUTSIDE_COLOUR, linewidth=1, label=f"chosen z = {z:.3f}" + (f" ({v:.1f})" if v is not None else ""))
    positive = curve["false_alerts_per_1000_series_weeks"].dropna()
    if (positive > 0).any():
        ax.set_yscale("log")
    ax.set_xlabel("threshold z")
    ax.set_ylabel("false alerts per 1,000 series-weeks")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8)
    ax = axes[1]
    for col, colour, label in (("event_recall", MODEL_COLOUR, "event recall"), ("dollar_recall", "#2e9d3a", "dollar-weighted recall"),
                               ("event_recall_filtered", FILTERED_COLOUR, f"event recall, alerts >= {fmt(impact, 0)} USD")):
        ax.plot(curve["z"], curve[col], color=colour, label=label)
    if z is not None:
        ax.axvline(z, color=OUTSIDE_COLOUR, linewidth=1, label=f"chosen z = {z:.3f}")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("threshold z")
    ax.set_ylabel("recall")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    page.figure(fig, "false_alerts.png", "false_alerts",
                "What a threshold costs and buys: false alerts per 1,000 series-weeks (log scale) and recall, against z.")


def throughput_section(page, summary):
    page.add("<h2>Throughput and context</h2>")
    t, ds = summary.get("throughput") or {}, summary.get("dataset") or {}
    rows = [("series", fmt(ds.get("series"))), ("steps per series", fmt(ds.get("steps"))),
            ("wall time, s", fmt(t.get("wall_seconds"), 3)), ("series per second", fmt(t.get("series_per_second"), 1)),
            ("points per second", fmt(t.get("points_per_second"), 1))]
    rows += value_rows(t.get("stage_seconds"), "stage {}, s")
    if t.get("stage_seconds_note"):
        rows.append(("stage note", t["stage_seconds_note"]))
    if summary.get("peak_rss_bytes") is not None:
        rows.append(("peak resident memory, MiB", fmt(summary["peak_rss_bytes"] / 2**20, 1)))
    if get(summary, "baseline_random", "wall_seconds") is not None:
        rows.append(("random baseline pass, s", fmt(summary["baseline_random"]["wall_seconds"], 3)))
    rows += context_rows(summary.get("context") or {})
    page.add(table(rows, ["figure", "value"]))
    fit = summary.get("fit_status") or {}
    if fit:
        page.add("<h3>Fit status</h3>" + table(value_rows(fit), ["status", "series"]))
    page.add("<h3>Dataset, model and schedule</h3>")
    rows = value_rows(ds, "dataset {}") + value_rows(summary.get("schedule"), "schedule {}")
    rows += value_rows(summary.get("evaluation"), "evaluation {}")
    rows.append(("model", summary["model"]["name"]))
    rows += [(f"  {k}", v) for k, v in (summary["model"].get("parameters") or {}).items()]
    page.add(table(rows, ["setting", "value"]))


def alerts_section(page, alerts):
    page.add("<h2>Largest incidents by financial impact</h2>")
    if alerts is None:
        page.note("No alerts.csv in the run directory (the backtest ran with --no-alerts).")
        return
    if not len(alerts):
        page.note("The run raised no incidents above the impact filter.")
        return
    # alerts.csv is sorted by |impact| (signed: under-billing is negative); a run directory of an older meterbench
    # has one row per alert with an unsigned impact_usd.
    if "impact" in alerts.columns:
        order = alerts.assign(_size=alerts["impact"].abs()).sort_values(["_size", "peak_score"], ascending=False, kind="mergesort")
        wanted = ("customer", "meter", "kind", "start", "end", "days", "direction", "observed_total", "expected_total", "impact",
                  "currency", "peak_score", "true_event")
    else:
        order = alerts.sort_values(["impact_usd", "max_score"], ascending=False, kind="mergesort")
        wanted = ("customer", "meter", "start", "end", "observed", "expected", "lower", "upper", "max_score", "impact_usd", "true_event")
    top = order.head(12)
    cols = [c for c in wanted if c in top.columns]
    rows = [[fmt(v.item() if hasattr(v, "item") else v, 2) for v in rec] for rec in top[cols].itertuples(index=False)]
    page.add(f"<p class=\"sub\">{len(alerts):,} incidents in alerts.csv; the 12 largest:</p>" + table(rows, cols))


def backtest_report(run_dir, page, args):
    summary = load_json(os.path.join(run_dir, "summary.json"))
    for key in ("model", "dataset", "throughput"):
        if key not in summary:
            raise ReportError(f"{os.path.join(run_dir, 'summary.json')}: missing key '{key}' (not a meterbench backtest summary)")
    alerts_path = os.path.join(run_dir, "alerts.csv")
    alerts = load_csv(alerts_path, ["customer", "meter", "true_event"]) if os.path.exists(alerts_path) else None
    if alerts is not None:
        alerts["customer"] = alerts["customer"].astype(str)
        alerts["meter"] = alerts["meter"].astype(str)
    model, ds = summary["model"]["name"], summary["dataset"]
    title = f"meterbench report: {model} on {os.path.basename(str(ds.get('path', '')))}"
    page.add(f"<h1>{esc(title)}</h1>")
    page.add(f"<p class=\"sub\">Backtest run directory <code>{esc(os.path.abspath(run_dir))}</code>: {fmt(ds.get('series'))} series x "
             f"{fmt(ds.get('steps'))} steps of {esc(ds.get('step', '?'))} from {esc(ds.get('start', '?'))}, "
             f"{esc(get(summary, 'schedule', 'name', default='?'))} schedule, threshold z = "
             f"{fmt(get(summary, 'model', 'flag_threshold'), 3)}, {fmt(summary.get('alerts'))} alerts. "
             f"{esc(get(summary, 'context', 'tool_version', default=''))}</p>")
    has_labels = summary.get("metrics") is not None and bool(get(summary, "metrics", "labels", "present", default=True))
    curve = None
    if has_labels:  # the metric tables exist only for labelled datasets
        curve = load_csv(os.path.join(run_dir, "pr_curve.csv"),
                         ["z", "point_precision", "point_recall", "event_recall", "alert_precision",
                          "false_alerts_per_1000_series_weeks", "false_alerts_per_1000_series_weeks_filtered", "dollar_recall",
                          "event_recall_filtered"])
    page.add("<h2>Accuracy</h2>")
    if has_labels:
        page.add(headline_table(summary))
        page.add("<p class=\"sub\">Metric definitions: <code>docs/metrics.md</code> in the meterbench repository. "
                 "n/a = undefined (0/0).</p>")
    else:
        page.note("The dataset has no labels: accuracy metrics (precision, recall, curves, recall per kind, time to detect) are "
                  "skipped. Detection and throughput are shown.")
    series_section(page, run_dir, summary, alerts, args)
    if has_labels:
        pr_section(page, summary, curve)
        recall_section(page, run_dir, summary)
        ttd_section(page, summary)
        false_alerts_section(page, summary, curve)
    alerts_section(page, alerts)
    throughput_section(page, summary)
    return title


# ----------------------------------------------------------------------------------------------------------
# sweep directory

SWEEP_METRICS = ["z", "point_precision", "point_recall", "point_f1", "event_precision", "event_recall", "event_f1",
                 "dollar_recall", "false_alerts_per_1000_series_weeks", "flag_rate", "objective"]


def axis_values(grid, key, column):
    """The grid's values of a key in the order best.json lists them (as strings, to match the CSV's cells)."""
    listed = [str(v) for v in grid.get(key, [])]
    seen = [v for v in listed if v in set(column)]
    extra = sorted(set(column) - set(seen), key=natural_key)
    return seen + extra


def natural_key(v):
    try:
        return (0, float(v), "")
    except ValueError:
        return (1, 0.0, v)


def same_value(a, b):
    if str(a) == str(b):
        return True
    try:
        return float(a) == float(b)
    except (TypeError, ValueError):
        return False


def sweep_report(run_dir, page, args):
    best = load_json(os.path.join(run_dir, "best.json"))
    if best.get("kind") != "sweep":
        raise ReportError(f"{os.path.join(run_dir, 'best.json')}: \"kind\" is {best.get('kind')!r}, expected \"sweep\"")
    sweep = load_csv(os.path.join(run_dir, "sweep.csv"), ["point"] + SWEEP_METRICS)
    columns = list(sweep.columns)
    keys = columns[1:columns.index("z")]
    if not keys:
        raise ReportError(f"{os.path.join(run_dir, 'sweep.csv')}: no grid-key columns between 'point' and 'z'")
    if not len(sweep):
        raise ReportError(f"{os.path.join(run_dir, 'sweep.csv')}: no rows")
    grid = best.get("grid") or {}
    objective = best.get("objective", "objective")
    b = best.get("best") or {}
    for k in keys:
        sweep[k] = sweep[k].astype(str)
    # Best z per grid point: the row with the highest objective (first in file order on ties).
    per_point = sweep.sort_values(["point", "objective"], ascending=[True, False], kind="mergesort").groupby("point", sort=True).head(1)
    per_point = per_point.set_index("point", drop=False)
    best_point = b.get("point")
    best_params = b.get("parameters") or {}
    title = f"meterbench report: sweep of {len(per_point)} parameter points ({objective})"
    page.add(f"<h1>{esc(title)}</h1>")
    page.add(f"<p class=\"sub\">Sweep directory <code>{esc(os.path.abspath(run_dir))}</code>: grid over "
             f"{esc(', '.join(f'{k} ({len(grid.get(k, []))} values)' for k in keys))}; {len(sweep):,} rows (grid point x threshold). "
             "The best point is chosen on the tuning half of the series and reported on the test half.</p>")
    page.add("<h2>The chosen point</h2>")
    if not b:
        page.note("best.json has no best point: no grid point and threshold had a defined objective on the tuning half "
                  "(within the budget, for a budgeted objective).")
    rows = [("objective", objective), ("budget", fmt(best.get("budget"))), ("point", fmt(best_point)), ("z", fmt(b.get("z")))]
    grid_values = b.get("grid_values") or {k: best_params[k] for k in keys if k in best_params}
    rows += value_rows(grid_values, "grid value {}")
    rows += value_rows(((k, v) for k, v in best_params.items() if k not in grid_values), "parameter {}")
    page.add(table(rows, ["", "value"]))
    halves = [(name, b.get(name) or {}) for name in ("tuning", "test", "random_test")]
    metric_keys = []
    for _, h in halves:
        for k, v in flatten(h):
            if k not in metric_keys:
                metric_keys.append(k)
    if metric_keys:
        flat = [dict(flatten(h)) for _, h in halves]
        page.add(table([[k] + [fmt(f.get(k)) for f in flat] for k in metric_keys],
                       ["metric", "tuning half", "test half", "random, test half"]))
    if best.get("command"):
        page.add("<p>Command that reproduces the best run:</p><pre>" + esc(best["command"]) + "</pre>")

    page.add("<h2>Objective over the grid</h2>")
    counts = {k: per_point[k].nunique() for k in keys}
    order = sorted(keys, key=lambda k: (-counts[k], keys.index(k)))
    if len(keys) == 1:
        heat_keys = (order[0], None)
    else:
        heat_keys = (order[0], order[1])
    draw_heatmap(page, per_point, keys, heat_keys, grid, best_params, best_point)
    if len(keys) > 2:
        draw_parallel(page, per_point, keys, grid, best_point)
    draw_sweep_thresholds(page, sweep, best_point, b.get("z"), objective)

    rows = []
    for _, rec in per_point.sort_values("objective", ascending=False, kind="mergesort").iterrows():
        rows.append([fmt(int(rec["point"]))] + [rec[k] for k in keys] + [fmt(float(rec[c])) for c in SWEEP_METRICS])
    page.add("<h2>Every grid point at its best threshold</h2>")
    page.add(table(rows, ["point"] + keys + SWEEP_METRICS))
    page.add("<h2>Throughput and context</h2>")
    t = best.get("throughput") or {}
    rows = value_rows(flatten(t))
    rows += context_rows(best.get("context") or {})
    page.add(table(rows, ["figure", "value"]) if rows else "<p>no throughput recorded</p>")
    return title


def flatten(d, prefix=""):
    out = []
    if not isinstance(d, dict):
        return out
    for k, v in d.items():
        if isinstance(v, dict):
            out.extend(flatten(v, f"{prefix}{k}."))
        elif not isinstance(v, list):
            out.append((f"{prefix}{k}", v))
    return out


def draw_heatmap(page, per_point, keys, heat_keys, grid, best_params, best_point):
    kx, ky = heat_keys
    xs = axis_values(grid, kx, per_point[kx])
    ys = axis_values(grid, ky, per_point[ky]) if ky else ["(all)"]
    val = np.full((len(ys), len(xs)), np.nan)
    zbest = np.full((len(ys), len(xs)), np.nan)
    others = [k for k in keys if k not in heat_keys]
    which = {}
    # With more keys than the two axes, a cell shows the best point over the other keys (and names their values).
    for _, rec in per_point.iterrows():
        i = ys.index(rec[ky]) if ky else 0
        j = xs.index(rec[kx])
        if not np.isfinite(val[i, j]) or rec["objective"] > val[i, j]:
            val[i, j], zbest[i, j] = rec["objective"], rec["z"]
            which[(i, j)] = "".join(f"\n{k}={rec[k]}" for k in others)
    fig, ax = plt.subplots(constrained_layout=True)
    im = ax.imshow(val, cmap="viridis", aspect="auto", origin="lower")
    fig.colorbar(im, ax=ax, label="objective (best z per point)")
    finite = val[np.isfinite(val)]
    mid = (finite.min() + finite.max()) / 2 if finite.size else 0
    for i in range(len(ys)):
        for j in range(len(xs)):
            if np.isfinite(val[i, j]):
                ax.text(j, i, f"{val[i, j]:.3f}\nz={zbest[i, j]:g}{which.get((i, j), '')}", ha="center", va="center", fontsize=8,
                        color="white" if val[i, j] < mid else "black")
    chosen = per_point.loc[best_point] if best_point in per_point.index else None
    if chosen is not None:
        j = xs.index(chosen[kx])
        i = ys.index(chosen[ky]) if ky else 0
        ax.add_patch(plt.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor=OUTSIDE_COLOUR, linewidth=3,
                                   label=f"chosen point {best_point}"))
        ax.legend(loc="upper left", bbox_to_anchor=(0, -0.12), fontsize=8, frameon=False)
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), ys)
    ax.set_xlabel(kx)
    ax.set_ylabel(ky or "")
    ax.set_title("objective over " + (f"{kx} x {ky}" if ky else kx) + (f" (best over {', '.join(others)})" if others else ""),
                 fontsize=10)
    page.figure(fig, "sweep_heatmap.png", "sweep_heatmap",
                "The objective at each grid point's best threshold z (tuning half); the red box is the chosen point.")


def draw_parallel(page, per_point, keys, grid, best_point):
    axes_names = keys + ["z", "objective"]
    pos = {}
    for k in keys:
        vals = axis_values(grid, k, per_point[k])
        pos[k] = {v: (i / (len(vals) - 1) if len(vals) > 1 else 0.5) for i, v in enumerate(vals)}
    fig, ax = plt.subplots(constrained_layout=True)
    obj = per_point["objective"].to_numpy(dtype=float)
    lo, hi = np.nanmin(obj), np.nanmax(obj)
    zs = per_point["z"].to_numpy(dtype=float)
    zlo, zhi = np.nanmin(zs), np.nanmax(zs)
    cmap = plt.get_cmap("viridis")

    def norm(v, a, b):
        return 0.5 if b <= a else (v - a) / (b - a)

    order = per_point.sort_values("objective", kind="mergesort")
    for _, rec in order.iterrows():
        ys = [pos[k][rec[k]] for k in keys] + [norm(rec["z"], zlo, zhi), norm(rec["objective"], lo, hi)]
        chosen = rec["point"] == best_point
        ax.plot(range(len(axes_names)), ys, color=OUTSIDE_COLOUR if chosen else cmap(norm(rec["objective"], lo, hi)),
                linewidth=3 if chosen else 1.1, alpha=1 if chosen else 0.75, zorder=5 if chosen else 2,
                label=f"chosen point {best_point}" if chosen else None)
    for i, k in enumerate(axes_names):
        ax.axvline(i, color="black", linewidth=0.8)
        if k in pos:
            for v, y in pos[k].items():
                ax.annotate(v, (i, y), xytext=(4, 0), textcoords="offset points", fontsize=8, va="center")
        else:
            a, b = (zlo, zhi) if k == "z" else (lo, hi)
            for y, v in (((0.5, a),) if b <= a else ((0, a), (1, b))):
                ax.annotate(f"{v:.3g}", (i, y), xytext=(4, 0), textcoords="offset points", fontsize=8, va="center")
    ax.set_xticks(range(len(axes_names)), axes_names)
    ax.set_yticks([])
    ax.set_ylim(-0.05, 1.05)
    ax.set_xlim(-0.2, len(axes_names) - 0.5)
    for s in ("top", "right", "left"):
        ax.spines[s].set_visible(False)
    ax.set_title(f"every grid point at its best z (colour: objective; red: the chosen point {best_point})", fontsize=10)
    page.figure(fig, "sweep_parallel.png", "sweep_parallel",
                "Parallel coordinates: one line per grid point through its parameter values, best threshold and objective; red: chosen.")


def draw_sweep_thresholds(page, sweep, best_point, best_z, objective):
    fig, ax = plt.subplots(constrained_layout=True)
    for point, rows in sweep.groupby("point", sort=True):
        rows = rows.sort_values("z", kind="mergesort")
        chosen = point == best_point
        ax.plot(rows["z"], rows["objective"], color=OUTSIDE_COLOUR if chosen else "#7f9fbf", linewidth=2.5 if chosen else 0.9,
                alpha=1 if chosen else 0.7, zorder=5 if chosen else 2, label=f"chosen point {best_point}" if chosen else None)
        if chosen and best_z is not None:
            at = rows[np.isclose(rows["z"], best_z)]
            if len(at):
                ax.plot(at["z"], at["objective"], "D", markersize=9, color=OUTSIDE_COLOUR, zorder=6, label=f"chosen z = {best_z:g}")
    ax.set_xlabel("threshold z")
    ax.set_ylabel(f"objective ({objective})")
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8)
    page.figure(fig, "sweep_thresholds.png", "sweep_thresholds",
                "The objective against the threshold for every grid point (one fit per point; thresholds from score histograms).")


# ----------------------------------------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--run", required=True, help="run directory (backtest or sweep)")
    ap.add_argument("--kind", choices=("backtest", "sweep"), required=True)
    ap.add_argument("--html", required=True, help="HTML file to write")
    ap.add_argument("--figures-dir", required=True, help="folder to write the PNG figures into (exists)")
    ap.add_argument("--figures-href", required=True, help="the folder's name as the HTML refers to it")
    ap.add_argument("--series", type=int, default=6, help="series to draw (backtest)")
    ap.add_argument("--data", default=None, help="dataset (.h5) for the series pictures; default: the one in summary.json")
    args = ap.parse_args()
    if args.series < 0:
        raise ReportError(f"--series {args.series}: must be 0 or more")
    if args.data and not os.path.exists(args.data):
        raise ReportError(f"--data {args.data}: no such file")
    plt.rcParams.update({"font.size": 9, "axes.titlesize": 10})
    page = Page(args.figures_dir, args.figures_href)
    if args.kind == "backtest":
        title = backtest_report(args.run, page, args)
    else:
        title = sweep_report(args.run, page, args)
    page.add(f"<p class=\"sub\">Written by <code>meterbench report</code> ({len(page.figures)} figures in "
             f"<code>{esc(args.figures_href)}/</code>).</p>")
    write_html(args.html, title, "\n".join(page.parts))


if __name__ == "__main__":
    try:
        main()
    except ReportError as e:
        print(f"report: error: {e}", file=sys.stderr)
        sys.exit(2)
    except OSError as e:  # e.g. a corrupt or truncated HDF5 file: h5py names it
        print(f"report: error: {e}", file=sys.stderr)
        sys.exit(2)
