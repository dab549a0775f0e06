"""Long usage frames to and from datasets: the pandas side of meterbench.

A frame holds one row per (customer, meter, date): columns customer, meter, date, quantity and optionally
price. frame_to_dataset builds the dataset `meterbench ingest` builds from the same rows written as CSV:
series are the distinct (customer, meter) pairs sorted by customer then meter, the grid runs from the first
to the last step, a step without a row is a gap (NaN), rows of the same series and step are summed in row
order, and a series' price is the one of its latest priced row (the later row on a tie).
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from . import _core

USAGE_COLUMNS = ("customer", "meter", "date", "quantity", "price")


class Dataset:
    """A dataset in memory: values (series x steps, float32, NaN = not reported), labels (uint8 or None),
    series (DataFrame, one row per series), events (DataFrame of labelled events) and attributes (dict)."""

    def __init__(self, values, labels, series, events, attributes):
        self.values = values
        self.labels = labels
        self.series = series
        self.events = events
        self.attributes = attributes

    @property
    def dates(self) -> pd.DatetimeIndex:
        """The grid's instants (UTC)."""
        a = self.attributes
        start = pd.Timestamp(a["start_unix_seconds"], unit="s", tz="UTC")
        return pd.date_range(start, periods=a["steps"], freq=pd.Timedelta(seconds=a["step_seconds"]))

    def to_frame(self) -> pd.DataFrame:
        """The long frame of the reported steps: customer, meter, date, quantity, price."""
        return long_frame(self, {"quantity": self.values}, reported_only=True)

    def __repr__(self) -> str:
        a = self.attributes
        return (f"<meterbench.Dataset {a['series_count']} series x {a['steps']} steps from "
                f"{self.dates[0] if a['steps'] else '-'}, source {a['source']!r}, labels {a['has_labels']}>")


def dataset_from_core(d: dict) -> Dataset:
    """The dict of _core.read_dataset as a Dataset: ids as str, kinds and profiles by name."""
    series = pd.DataFrame(d["series"])
    series["profile"] = pd.Categorical.from_codes(series["profile"], categories=_core.PROFILE_NAMES)
    events = pd.DataFrame(d["events"])
    events["kind"] = pd.Categorical.from_codes(events["kind"], categories=_core.ANOMALY_KIND_NAMES)
    return Dataset(d["values"], d["labels"], series, events, d["attributes"])


def long_frame(dataset: Dataset, columns: dict, reported_only: bool = False) -> pd.DataFrame:
    """One row per series and step (only the reported steps with `reported_only`): customer and meter (categoricals
    of str), date (UTC), then `columns` (name -> series x steps array), then price with `reported_only`."""
    n, steps = dataset.values.shape
    row_series = np.repeat(np.arange(n, dtype=np.int32), steps)
    row_step = np.tile(np.arange(steps, dtype=np.int64), n)
    keep = ~np.isnan(dataset.values.reshape(-1)) if reported_only else slice(None)
    row_series, row_step = row_series[keep], row_step[keep]
    frame = {}
    for name in ("customer", "meter"):
        codes, ids = pd.factorize(dataset.series[name], sort=True)
        frame[name] = pd.Categorical.from_codes(codes[row_series], categories=ids)
    a = dataset.attributes
    nanoseconds = (a["start_unix_seconds"] + row_step * a["step_seconds"]) * 1_000_000_000
    frame["date"] = pd.arrays.DatetimeArray(nanoseconds.view("datetime64[ns]"), dtype=pd.DatetimeTZDtype(tz="UTC"))  # no parsing
    for name, array in columns.items():
        frame[name] = np.asarray(array).reshape(-1)[keep]
    if reported_only:
        frame["price"] = dataset.series["price_per_unit"].to_numpy()[row_series]
    return pd.DataFrame(frame)


def _bad_row(frame: pd.DataFrame, mask: np.ndarray, column: str, problem: str) -> None:
    if mask.any():
        row = int(np.flatnonzero(mask)[0])
        raise _core.InputError(f"frame row {row} (index {frame.index[row]!r}), column '{column}': "
                               f"{frame[column].iloc[row]!r} {problem} ({int(mask.sum())} such rows)")


def _sorted_codes(column: pd.Series, name: str):
    """Codes of the column's distinct ids in sorted (code point, hence UTF-8 byte) order, and those ids as str."""
    if isinstance(column.dtype, pd.CategoricalDtype):  # as read_csv(dtype="category") gives ids: no hashing of rows
        codes, uniques = column.cat.codes.to_numpy(), column.cat.categories
    else:
        codes, uniques = pd.factorize(column, sort=False)
    if (codes < 0).any():
        row = int(np.flatnonzero(codes < 0)[0])
        raise _core.InputError(f"frame row {row} (index {column.index[row]!r}), column '{name}': the id is missing")
    ids = np.asarray([str(u) for u in uniques], dtype=object)
    order = np.argsort(ids.astype(str), kind="stable")
    rank = np.empty(len(order), dtype=np.int32)
    rank[order] = np.arange(len(order))
    return rank[codes], ids[order]


def _unix_seconds(column: pd.Series) -> np.ndarray:
    dates = column
    if not pd.api.types.is_datetime64_any_dtype(dates):
        try:
            dates = pd.to_datetime(dates, utc=True)
        except (ValueError, TypeError) as e:
            raise _core.InputError(f"frame column 'date': {e}") from None
    nat = dates.isna().to_numpy()
    if nat.any():
        row = int(np.flatnonzero(nat)[0])
        raise _core.InputError(f"frame row {row} (index {column.index[row]!r}), column 'date': {column.iloc[row]!r} is not a date")
    nanoseconds = dates.array.asi8  # UTC for a time-zone aware column, the wall time (read as UTC) for a naive one
    return nanoseconds // 1_000_000_000


def frame_to_dataset(frame: pd.DataFrame, step: str = "1d") -> Dataset:
    """The dataset `meterbench ingest --step STEP` builds from the frame's rows (see the module's doc)."""
    if not isinstance(frame, pd.DataFrame):
        raise _core.InputError(f"expected a pandas DataFrame of usage rows, got {type(frame).__name__}")
    missing = [c for c in USAGE_COLUMNS[:4] if c not in frame.columns]
    if missing:
        raise _core.InputError(f"frame: no column {', '.join(repr(c) for c in missing)} "
                               f"(columns: {', '.join(map(str, frame.columns))}; expected customer, meter, date, quantity[, price])")
    if len(frame) == 0:
        raise _core.InputError("frame: no rows")
    step_seconds = _core.parse_step(step)
    quantity = pd.to_numeric(frame["quantity"], errors="coerce").to_numpy(dtype=np.float64)
    if np.isnan(quantity).any():  # a value that is not a number (a missing one is refused by the engine's row check)
        _bad_row(frame, np.isnan(quantity) & frame["quantity"].notna().to_numpy(), "quantity", "is not a number")
    price = None
    if "price" in frame.columns:
        price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=np.float64)
        if np.isnan(price).any():
            _bad_row(frame, np.isnan(price) & frame["price"].notna().to_numpy(), "price", "is not a number")
    customer, customers = _sorted_codes(frame["customer"], "customer")
    meter, meters = _sorted_codes(frame["meter"], "meter")
    try:
        m = _core.usage_matrix(customer, meter, _unix_seconds(frame["date"]), quantity, price, step_seconds,
                               _core.MAX_GRID_DAYS * 86400 // step_seconds)
    except _core.InputError as e:
        raise _core.InputError(f"frame: {e}") from None
    pairs = m["pairs"]
    n = len(pairs)
    table = {
        "customer": customers[pairs // m["meters"]].tolist(),
        "meter": meters[pairs % m["meters"]].tolist(),
        "price_per_unit": m["price"],
        "noise_scale": np.full(n, np.nan),
        "profile": np.full(n, _core.OBSERVED_PROFILE, dtype=np.uint8),
    }
    first, steps = m["start_unix_seconds"], m["steps"]
    values = m["values"]
    attributes = {"start_unix_seconds": first, "step_seconds": step_seconds, "steps": steps, "series_count": n,
                  "has_labels": False, "seed": 0, "scenario": f"meterbench.frame_to_dataset(step={step!r})", "source": "ingested",
                  "tool_version": _core.__version__, "format_version": 0}
    series_table = pd.DataFrame(table)
    series_table["profile"] = pd.Categorical.from_codes(series_table["profile"], categories=_core.PROFILE_NAMES)
    events = pd.DataFrame({c: np.array([], dtype=t) for c, t in _EVENT_COLUMNS.items()})
    return Dataset(values, None, series_table, events, attributes)


_EVENT_COLUMNS = {"series": np.uint64, "start": np.int64, "end": np.int64, "effect_end": np.int64, "size_sigma": np.float64,
                  "size_units": np.float64, "impact_usd": np.float64, "kind": np.uint8}


def write_dataset_file(path, dataset: Dataset, overwrite: bool) -> None:
    s = dataset.series
    events = dataset.events
    event_columns = {}
    if len(events):
        for column, dtype in _EVENT_COLUMNS.items():
            values = events[column]
            if column == "kind" and isinstance(values.dtype, pd.CategoricalDtype):
                values = values.map(lambda k: _core.ANOMALY_KIND_NAMES.index(k))
            event_columns[column] = np.asarray(values, dtype=dtype)
    profile = s["profile"]
    profile = profile.cat.codes if isinstance(profile.dtype, pd.CategoricalDtype) else profile
    _core.write_dataset(str(path), dataset.values, dataset.labels, [str(c) for c in s["customer"]], [str(m) for m in s["meter"]],
                        np.asarray(s["price_per_unit"], dtype=np.float64), np.asarray(s["noise_scale"], dtype=np.float64),
                        np.asarray(profile, dtype=np.uint8), event_columns, dict(dataset.attributes), overwrite)
