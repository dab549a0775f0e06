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
_FLOAT32_MAX = float(np.finfo(np.float32).max)


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
    """One row per series and step: customer, meter, date, then `columns` (name -> series x steps array)."""
    n, steps = dataset.values.shape
    frame = pd.DataFrame({
        "customer": np.repeat(dataset.series["customer"].to_numpy(dtype=object), steps),
        "meter": np.repeat(dataset.series["meter"].to_numpy(dtype=object), steps),
        "date": np.tile(dataset.dates.to_numpy(), n) if n else pd.DatetimeIndex([], tz="UTC"),
    })
    if n:
        frame["date"] = pd.DatetimeIndex(frame["date"]).tz_localize("UTC") if frame["date"].dt.tz is None else frame["date"]
    for name, array in columns.items():
        frame[name] = np.asarray(array).reshape(-1)
    if reported_only:
        frame["price"] = np.repeat(dataset.series["price_per_unit"].to_numpy(), steps)
        frame = frame[~np.isnan(frame["quantity"].to_numpy())].reset_index(drop=True)
    return frame


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
    rank = np.empty(len(order), dtype=np.int64)
    rank[order] = np.arange(len(order))
    return rank[codes], ids[order]


def _series_codes(customer: np.ndarray, meter: np.ndarray, meters: int):
    """Series index of every row (the distinct (customer, meter) pairs in sorted order) and each series' pair code."""
    pair = customer * meters + meter
    if pair.max() < max(4 * len(pair), 1 << 24):  # dense pair codes: a presence table, no hashing
        present = np.zeros(int(pair.max()) + 1, dtype=bool)
        present[pair] = True
        pairs = np.flatnonzero(present)
        return (np.cumsum(present) - 1)[pair], pairs
    series, pairs = pd.factorize(pair, sort=True)
    return series.astype(np.int64), pairs


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


def _latest_prices(series: np.ndarray, time: np.ndarray, price: np.ndarray, n: int) -> np.ndarray:
    """Each series' price: that of its latest priced row by (time, row)."""
    series_price = np.full(n, np.nan)
    priced = np.flatnonzero(~np.isnan(price))
    if len(priced):
        # The latest priced row by (time, row): time since the first row in the high bits, the row in the low 31.
        key = ((time[priced] - time.min()) << 31) | priced
        latest = pd.Series(key).groupby(series[priced]).max()
        series_price[latest.index.to_numpy()] = price[latest.to_numpy() & ((1 << 31) - 1)]
    return series_price


def _last_priced_in_cells(row_of_cell: np.ndarray, price: np.ndarray, n: int, steps: int) -> np.ndarray:
    """Each series' price when every cell holds at most one row: the priced row of its last priced step."""
    row_of_cell = row_of_cell.reshape(n, steps)
    priced = row_of_cell >= 0
    priced[priced] = ~np.isnan(price[row_of_cell[priced]])
    last = steps - 1 - np.argmax(priced[:, ::-1], axis=1)
    has_price = priced[np.arange(n), last]
    series_price = np.full(n, np.nan)
    series_price[has_price] = price[row_of_cell[np.arange(n), last][has_price]]
    return series_price


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
    _bad_row(frame, np.isnan(quantity), "quantity", "is not a number")
    _bad_row(frame, ~np.isfinite(quantity), "quantity", "is not finite")
    _bad_row(frame, quantity < 0, "quantity", "is a negative quantity")
    _bad_row(frame, quantity > _FLOAT32_MAX, "quantity", "is beyond the largest quantity a dataset stores")
    quantity = quantity + 0.0  # -0 -> 0
    if "price" in frame.columns:
        price = pd.to_numeric(frame["price"], errors="coerce").to_numpy(dtype=np.float64)
        _bad_row(frame, (price < 0) | np.isinf(price) | (np.isnan(price) & frame["price"].notna().to_numpy()),
                 "price", "is not a price (a number >= 0, or empty)")
    else:
        price = np.full(len(frame), np.nan)
    customer, customers = _sorted_codes(frame["customer"], "customer")
    meter, meters = _sorted_codes(frame["meter"], "meter")
    time = _unix_seconds(frame["date"])
    step_index = time // step_seconds
    first, last = int(step_index.min()), int(step_index.max())
    steps = last - first + 1
    max_steps = _core.MAX_GRID_DAYS * 86400 // step_seconds
    if steps > max_steps:
        raise _core.InputError(f"frame: the dates span {steps} steps of {step}, more than {max_steps} "
                               f"({_core.MAX_GRID_DAYS} days)")
    series, pairs = _series_codes(customer, meter, len(meters))
    n = len(pairs)
    flat = series * steps + (step_index - first)
    row_type = np.int32 if len(flat) < 2**31 else np.int64
    rows = np.arange(len(flat), dtype=row_type)
    row_of_cell = np.full(n * steps, -1, dtype=row_type)
    row_of_cell[flat] = rows
    if np.array_equal(row_of_cell[flat], rows):  # one row per series and step: no sums
        values = np.full(n * steps, np.nan, dtype=np.float32)
        values[flat] = quantity
        series_price = _last_priced_in_cells(row_of_cell, price, n, steps)
    else:  # rows of the same series and step are summed, in row order
        counts = np.bincount(flat, minlength=n * steps)
        sums = np.bincount(flat, weights=quantity, minlength=n * steps)
        too_large = np.flatnonzero(sums > _FLOAT32_MAX)
        if len(too_large):
            raise _core.InputError(f"frame: the rows of one series and step sum to {sums[too_large[0]]:g}, "
                                   "more than the largest quantity a dataset stores")
        values = np.where(counts > 0, sums, np.nan).astype(np.float32)
        series_price = _latest_prices(series, time, price, n)
    del row_of_cell
    table = {
        "customer": customers[pairs // len(meters)].tolist(),
        "meter": meters[pairs % len(meters)].tolist(),
        "price_per_unit": series_price,
        "noise_scale": np.full(n, np.nan),
        "profile": np.full(n, _core.OBSERVED_PROFILE, dtype=np.uint8),
    }
    attributes = {"start_unix_seconds": first * step_seconds, "step_seconds": step_seconds, "steps": steps, "series_count": n,
                  "has_labels": False, "seed": 0, "scenario": f"meterbench.frame_to_dataset(step={step!r})", "source": "ingested",
                  "tool_version": _core.__version__, "format_version": 0}
    series_table = pd.DataFrame(table)
    series_table["profile"] = pd.Categorical.from_codes(series_table["profile"], categories=_core.PROFILE_NAMES)
    events = pd.DataFrame({c: np.array([], dtype=t) for c, t in _EVENT_COLUMNS.items()})
    return Dataset(values.reshape(n, steps), None, series_table, events, attributes)


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
