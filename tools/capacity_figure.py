#!/usr/bin/python3
"""Scaling figure of `meterbench capacity`: capacity_figure.py capacity.json out.png

Left: measured backtest wall time versus series per thread count, with the fitted cost model.
Right: machines (and cores) needed versus the number of series for the question's window, the question marked.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main(src, dst):
    doc = json.load(open(src))
    m, model, q, a = doc["measurement"], doc["model"], doc["question"], doc["answer"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.5), dpi=100)

    threads = sorted({r["threads"] for r in m["runs"]})
    sizes = sorted({r["series"] for r in m["runs"]})
    lo, hi = min(sizes) / 2, max(sizes) * 2
    for t in threads:
        runs = sorted((r for r in m["runs"] if r["threads"] == t), key=lambda r: r["series"])
        line = left.plot([r["series"] for r in runs], [r["wall_seconds"] for r in runs], "o", label=f"measured, {t} thread(s)")
        eff = 1.0 if t == 1 else model["parallel_efficiency"]
        xs = [lo * (hi / lo) ** (i / 50) for i in range(51)]
        left.plot(xs, [model["fixed_seconds"] + x * model["seconds_per_series_per_core"] / (t * eff) for x in xs], "-",
                  color=line[0].get_color(), alpha=0.6, label=f"model, {t} thread(s)")
    left.set_xscale("log")
    left.set_yscale("log")
    left.set_xlabel("series")
    left.set_ylabel("backtest wall time (s)")
    left.set_title(f"{m['model']}, {m['schedule']} schedule, {m['days']} days\n"
                   f"t = {model['seconds_per_series_per_core'] * 1e6:.1f} us/series/core, fixed {model['fixed_seconds']:.2f} s, "
                   f"E = {model['parallel_efficiency']:.2f}", fontsize=9)
    left.grid(True, which="both", alpha=0.3)
    left.legend(fontsize=8)

    curve = [c for c in doc["curve"] if c["machines"] > 0]
    right.plot([c["series"] for c in curve], [c["machines"] for c in curve], "o-", label=f"machines of {q['cores_per_machine']} cores")
    one = [c for c in doc["curve"] if c["cores_one_machine"] > 0]
    right.plot([c["series"] for c in one], [c["cores_one_machine"] for c in one], "s--", alpha=0.7, label="cores on one machine")
    if a["feasible"]:
        right.plot([q["series"]], [a["machines"]], "r*", markersize=14, label=f"question: {q['series']:.3g} series -> {a['machines']} machines")
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel("series")
    right.set_ylabel("needed")
    right.set_title(f"within {q['window_seconds'] / 3600:.3g} h per run ({doc['question']['schedule']}), "
                    f"network {q['network_gbps']:.3g} Gbit/s", fontsize=9)
    right.grid(True, which="both", alpha=0.3)
    right.legend(fontsize=8)
    ctx = m.get("context") or {}
    fig.suptitle(f"meterbench capacity: {ctx.get('cpu', '?')}, {ctx.get('cores', '?')} cores, {ctx.get('tool_version', '?')}", fontsize=9)
    fig.tight_layout()
    fig.savefig(dst, format="png")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: capacity_figure.py capacity.json out.png")
    main(sys.argv[1], sys.argv[2])
