"""meterbench for Python: pandas in, pandas out, on the same engine as the `meterbench` command line.

Every function calls the C++ engine (meterbench._core) with the interpreter's lock released, on `threads`
oneTBB threads (0: all hardware threads); Ctrl-C stops a long call at the engine's next block of series and
raises KeyboardInterrupt. Engine errors are raised as meterbench.Error subclasses with the engine's messages:
InputError (also a ValueError), DatasetError, OutputError and EngineError (also RuntimeErrors).
See docs/python.md.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from . import _core
from ._core import DatasetError, EngineError, Error, InputError, OutputError, __version__, set_log_level
from ._frames import USAGE_COLUMNS, Dataset, dataset_from_core, frame_to_dataset, long_frame, write_dataset_file

__all__ = ["Error", "InputError", "DatasetError", "OutputError", "EngineError", "Dataset", "frame_to_dataset", "read_dataset",
           "write_dataset", "generate", "inject", "detect", "fit", "backtest", "sweep", "models", "BacktestResult", "SweepResult", "set_log_level"]

INCIDENT_COLUMNS = ["customer", "meter", "kind", "start", "end", "days", "direction", "observed_total", "expected_total", "impact",
                    "currency", "peak_score"]


def _settings(params) -> list[str]:
    """{"z": 3.0} -> ["z=3.0"] (the CLI's --set name=value)."""
    if params is None:
        return []
    if not isinstance(params, dict):
        raise InputError(f"params must be a dict of parameter name -> value, got {type(params).__name__}")
    return [f"{name}={value}" for name, value in params.items()]


def _dataset_file(data, directory: str, step: str = "1d") -> str:
    """The path of a dataset file holding `data`: a path as given, a Dataset or a usage frame written to `directory`."""
    if isinstance(data, (str, os.PathLike)):
        return os.fspath(data)
    if isinstance(data, pd.DataFrame):
        data = frame_to_dataset(data, step=step)
    if not isinstance(data, Dataset):
        raise InputError(f"data must be a dataset path, a meterbench.Dataset or a usage DataFrame, got {type(data).__name__}")
    path = os.path.join(directory, "data.h5")
    write_dataset_file(path, data, overwrite=False)
    return path


def read_dataset(path, threads: int = 0) -> Dataset:
    """Reads a dataset file (generate's or ingest's): values as a float32 numpy array (series x steps, no copy
    of the engine's buffer), labels, the series table and events as DataFrames (ids as str), attributes."""
    return dataset_from_core(_core.read_dataset(os.fspath(path), threads))


def write_dataset(path, data, overwrite: bool = False, step: str = "1d") -> None:
    """Writes a Dataset, or a usage frame (as frame_to_dataset builds it), to a dataset file readable by the CLI."""
    if isinstance(data, pd.DataFrame):
        data = frame_to_dataset(data, step=step)
    if not isinstance(data, Dataset):
        raise InputError(f"data must be a meterbench.Dataset or a usage DataFrame, got {type(data).__name__}")
    write_dataset_file(os.fspath(path), data, overwrite)


def generate(scenario, series: int | None = None, days: int | None = None, seed: int | None = None, out=None,
             overwrite: bool = False, threads: int = 0):
    """Generates a scenario's population (`meterbench generate`). `scenario`: a scenario TOML file (e.g.
    datasets/scenarios/default.toml) or TOML text. Returns the Dataset, or, with `out`, writes that file and
    returns the generator's summary (dict)."""
    text, is_text = _scenario_argument(scenario)
    if out is not None:
        return _core.generate(text, is_text, os.fspath(out), series, days, seed, overwrite, threads)
    with tempfile.TemporaryDirectory(prefix="meterbench-") as directory:
        path = os.path.join(directory, "generated.h5")
        _core.generate(text, is_text, path, series, days, seed, False, threads)
        return read_dataset(path, threads)


def _scenario_argument(scenario) -> tuple[str, bool]:
    """A scenario file's path, or TOML text: (text, is_text)."""
    text = str(scenario) if not isinstance(scenario, os.PathLike) else os.fspath(scenario)
    return text, not isinstance(scenario, os.PathLike) and not os.path.exists(text) and ("\n" in text or "=" in text)


def inject(data, scenario, seed: int = 1, out=None, overwrite: bool = False, step: str = "1d", threads: int = 0):
    """`meterbench inject`: the scenario's [injections] (a TOML file or text) injected into `data` (a dataset
    path, a Dataset or a usage frame, e.g. real usage), sized by each series' own noise, as labelled events.
    Returns the labelled Dataset, or, with `out`, writes that file and returns the injector's summary (dict)."""
    text, is_text = _scenario_argument(scenario)
    with tempfile.TemporaryDirectory(prefix="meterbench-") as directory:
        path = _dataset_file(data, directory, step)
        if out is not None:
            return _core.inject(path, text, is_text, os.fspath(out), int(seed), overwrite, threads)
        injected = os.path.join(directory, "injected.h5")
        _core.inject(path, text, is_text, injected, int(seed), False, threads)
        return read_dataset(injected, threads)


def _incidents_frame(columns: dict) -> pd.DataFrame:
    """The engine's incident columns as the CLI's table: start and end as UTC timestamps."""
    frame = pd.DataFrame({name: columns[name] for name in INCIDENT_COLUMNS if name != "currency"})
    frame.insert(INCIDENT_COLUMNS.index("currency"), "currency", columns["currency"])
    for at, name in enumerate(columns.get("dimensions", [])):  # kept dimensions follow meter, as in the CLI's file
        frame.insert(2 + at, name, columns[name])
    for name in ("start", "end"):
        frame[name] = pd.to_datetime(frame[name] * 1_000_000_000, utc=True)
    return frame


def _incidents_from_json(document: dict) -> pd.DataFrame:
    """The incidents of `meterbench detect --format json` (for comparisons with the CLI)."""
    rows = document["incidents"]
    columns = {name: [row[name] for row in rows] for name in INCIDENT_COLUMNS}
    for name in ("start", "end"):
        columns[name] = pd.to_datetime(columns[name], utc=True).asi8 // 1_000_000_000
    for name in ("days", "observed_total", "expected_total", "impact", "peak_score"):
        columns[name] = np.array([np.nan if v is None else v for v in columns[name]], dtype=np.float64)
    columns["currency"] = rows[0]["currency"] if rows else "USD"
    known = set(INCIDENT_COLUMNS)
    columns["dimensions"] = [name for name in (rows[0] if rows else {}) if name not in known]
    for name in columns["dimensions"]:
        columns[name] = [row[name] for row in rows]
    return _incidents_frame(columns)


def _timestamp_text(when) -> str:
    """A time as the engine reads it (UTC ISO text)."""
    if isinstance(when, str):
        return when
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp
    return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")


def _with_kept_columns(incidents: pd.DataFrame, frame: pd.DataFrame) -> pd.DataFrame:
    """The frame's other columns as `ingest --keep` carries them: each series' values of its latest row (by date,
    then row order), as text after meter."""
    kept = [c for c in frame.columns if c not in USAGE_COLUMNS]
    if not kept:
        return incidents
    rows = frame.assign(_when=pd.to_datetime(frame["date"], utc=True)).sort_values("_when", kind="stable")
    latest = rows.groupby(["customer", "meter"], observed=True, sort=False).tail(1)
    keys = list(zip(latest["customer"].astype(str), latest["meter"].astype(str)))
    at = list(zip(incidents["customer"], incidents["meter"]))
    for offset, name in enumerate(kept):
        text = {k: ("" if pd.isna(v) else str(v)) for k, v in zip(keys, latest[name])}
        incidents.insert(2 + offset, str(name), [text.get(k, "") for k in at])
    return incidents


def detect(frame, model: str = "gam", params: dict | None = None, min_impact: float = 100.0, since=None, by=None,
           last: int = 0, step: str = "1d", threads: int = 0) -> pd.DataFrame:
    """`meterbench detect` on a usage frame (customer, meter, date, quantity[, price], other columns kept as
    `ingest --keep` keeps them), a Dataset or a dataset
    path: one row per incident with the CLI's columns and rows (start and end as UTC timestamps, numbers at full
    precision), largest |impact| first. `since` (a date or timestamp): fit on the history before it and score
    from it on (`--since`); `by` ("customer" or "meter"): sum the series per value of that dimension first
    (`--by`); `last`: keep only incidents ending in the last `last` days (`--last`, 0: all)."""
    with tempfile.TemporaryDirectory(prefix="meterbench-") as directory:
        data = _dataset_file(frame, directory, step)
        found = _core.detect(data, model, _settings(params), float(min_impact), int(last),
                             "" if since is None else _timestamp_text(since), "" if by is None else str(by), threads)
    incidents = _incidents_frame(found["incidents"])
    if isinstance(frame, pd.DataFrame) and by is None:
        incidents = _with_kept_columns(incidents, frame)
    incidents.attrs["model"] = model
    incidents.attrs["parameters"] = dict(found["parameters"])
    incidents.attrs["fit_status"] = found["fit_status"]
    return incidents


def fit(frame, model: str = "gam", params: dict | None = None, schedule: str = "retrospective", weeks: int = 52,
        step: str = "1d", threads: int = 0) -> pd.DataFrame:
    """The detector's band per step, for plotting: one row per series and grid step with customer, meter, date,
    quantity (NaN where not reported), expected, lower, upper, score and flagged (score above the flag
    threshold). `frame`: a usage frame, a Dataset or a dataset path."""
    if isinstance(frame, (str, os.PathLike)):
        dataset = read_dataset(frame, threads)
    elif isinstance(frame, pd.DataFrame):
        dataset = frame_to_dataset(frame, step=step)
    elif isinstance(frame, Dataset):
        dataset = frame
    else:
        raise InputError(f"fit: expected a usage DataFrame, a Dataset or a dataset path, got {type(frame).__name__}")
    a = dataset.attributes
    bands = _core.fit(dataset.values, a["start_unix_seconds"], a["step_seconds"], model, _settings(params), schedule, weeks, threads)
    out = long_frame(dataset, {"quantity": dataset.values, "expected": bands["expected"], "lower": bands["lower"],
                               "upper": bands["upper"], "score": bands["score"]})
    out["flagged"] = out["score"].to_numpy() > bands["flag_threshold"]
    out.attrs["flag_threshold"] = bands["flag_threshold"]
    out.attrs["status"] = pd.Series(bands["status"], index=pd.MultiIndex.from_arrays(
        [dataset.series["customer"], dataset.series["meter"]]), name="status")
    return out


def _run(data, out_dir, model, params, schedule, weeks, random_baseline, min_impact, delay_tolerance, overwrite) -> dict:
    """What backtest and sweep pass the engine alike (its option names)."""
    return {"data": data, "out_dir": os.fspath(out_dir), "model": model, "settings": _settings(params), "schedule": schedule,
            "weeks": int(weeks), "random_baseline": bool(random_baseline), "impact_filter_usd": float(min_impact),
            "delay_tolerance_days": float(delay_tolerance), "overwrite": bool(overwrite)}


class BacktestResult:
    """A backtest: summary (summary.json as a dict), per_kind, pr_curve and alerts (DataFrames), directory
    (the run directory when `out` was given, else None)."""

    def __init__(self, summary, per_kind, pr_curve, alerts, directory):
        self.summary, self.per_kind, self.pr_curve, self.alerts, self.directory = summary, per_kind, pr_curve, alerts, directory

    def __repr__(self) -> str:
        m = (self.summary.get("metrics") or {}).get("event") or {}
        return f"<meterbench.BacktestResult {self.summary['model']['name']}: {self.summary['alerts']} alerts, event {m}>"


def _read_csv(path: Path) -> pd.DataFrame | None:
    if not path.exists():
        return None
    return pd.read_csv(path, dtype={"customer": str, "meter": str}, keep_default_na=False, na_values={
        c: ["", "nan", "NaN"] for c in pd.read_csv(path, nrows=0).columns if c not in ("customer", "meter")})


def backtest(data, model: str = "gam", params: dict | None = None, schedule: str = "retrospective", weeks: int = 52, out=None,
             overwrite: bool = False, bands: bool = False, random_baseline: bool = True, min_impact: float = 100.0,
             delay_tolerance: float = 7.0, step: str = "1d", threads: int = 0) -> BacktestResult:
    """`meterbench backtest` on a dataset path, a Dataset or a usage frame. With `out` the run directory is kept
    there (for `meterbench report`); otherwise it is read and removed."""
    with tempfile.TemporaryDirectory(prefix="meterbench-") as directory:
        path = _dataset_file(data, directory, step)
        run = Path(out) if out is not None else Path(directory) / "run"
        summary = _core.backtest(_run(path, run, model, params, schedule, weeks, random_baseline, min_impact, delay_tolerance, overwrite),
                                 bool(bands), threads)
        return BacktestResult(summary, _read_csv(run / "per_kind.csv"), _read_csv(run / "pr_curve.csv"), _read_csv(run / "alerts.csv"),
                              run if out is not None else None)


class SweepResult:
    """A sweep: best (best.json as a dict), table (sweep.csv: one row per point x threshold), directory."""

    def __init__(self, best, table, directory):
        self.best, self.table, self.directory = best, table, directory

    def __repr__(self) -> str:
        return f"<meterbench.SweepResult best {self.best.get('best')}>"


def sweep(data, grid: dict, model: str = "gam", params: dict | None = None, objective: str = "event_f1", budget: float = 5.0,
          schedule: str = "retrospective", weeks: int = 52, max_minutes: float = 60.0, out=None, overwrite: bool = False,
          random_baseline: bool = True, min_impact: float = 100.0, delay_tolerance: float = 7.0, threads: int = 0) -> SweepResult:
    """`meterbench sweep`: `grid` maps each swept parameter to its values, e.g. {"z": [2.5, 3, 3.5]}."""
    if not isinstance(grid, dict) or not grid:
        raise InputError("sweep: grid must be a non-empty dict of parameter name -> list of values")
    axes = [f"{name}={','.join(str(v) for v in (values if isinstance(values, (list, tuple, np.ndarray)) else [values]))}"
            for name, values in grid.items()]
    with tempfile.TemporaryDirectory(prefix="meterbench-") as directory:
        path = _dataset_file(data, directory)
        run = Path(out) if out is not None else Path(directory) / "sweep"
        best = _core.sweep(_run(path, run, model, params, schedule, weeks, random_baseline, min_impact, delay_tolerance, overwrite),
                           axes, objective, float(budget), float(max_minutes), threads)
        return SweepResult(best, _read_csv(run / "sweep.csv"), run if out is not None else None)


def models() -> pd.DataFrame:
    """Every detector's parameters from its one parameter table (what `meterbench models` lists): model,
    parameter, type, default, min, max, choices, flag_threshold, rules and help."""
    return pd.DataFrame(_core.models())
