"""What every stage of the demo city shares: day numbers, row tables, vectorised draws.

Dates are day numbers (days since :data:`EPOCH`), :data:`FOREVER` standing for "no date".
A table being drawn is a :data:`Rows` dict of equally long NumPy columns. The string helpers
at the end build Arrow string columns from numbers, without a Python string per row.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

# Day numbers (days since EPOCH) stand for dates; FOREVER stands for "no date":
# an open end, a firm that still exists, an unknown start (negated).
EPOCH = date(1970, 1, 1)
FOREVER = 1_000_000_000

Rows = dict[str, np.ndarray]


@dataclass(frozen=True)
class Span:
    """The period of the history, as day numbers."""

    t0: int  # first day of the history
    t1: int  # last day of the history


def probabilities(weights: Iterable[float]) -> np.ndarray:
    """Weights scaled to add up to 1, as ``rng.choice`` takes them."""
    w = np.asarray(list(weights), dtype=np.float64)
    return np.asarray(w / w.sum())


def concat_rows(parts: Sequence[Rows]) -> Rows:
    """The rows of the parts one after another; empty parts are skipped."""
    parts = [p for p in parts if p]
    if not parts:
        return {}
    return {key: np.concatenate([p[key] for p in parts]) for key in parts[0]}


def take_rows(rows: Rows, idx: np.ndarray) -> Rows:
    return {key: col[idx] for key, col in rows.items()}


def uniform_days(rng: np.random.Generator, lo: np.ndarray, hi: np.ndarray) -> np.ndarray:
    """A day in ``[lo, hi]`` for each pair (callers ensure lo <= hi)."""
    return np.asarray(lo + np.floor(rng.random(len(lo)) * (hi - lo + 1)).astype(np.int64))


def calendar_years(days: np.ndarray) -> np.ndarray:
    """Calendar year of each day number."""
    return days.astype("datetime64[D]").astype("datetime64[Y]").astype(np.int64) + 1970


def add_months(days: np.ndarray, months: int | np.ndarray) -> np.ndarray:
    """Same day of the month ``months`` later (the last day when the month is shorter)."""
    d = days.astype("datetime64[D]")
    month = d.astype("datetime64[M]")
    day_of_month = (d - month.astype("datetime64[D]")).astype(np.int64)
    target = month + np.asarray(months).astype("timedelta64[M]")
    last = (target + np.timedelta64(1, "M")).astype("datetime64[D]").astype(np.int64) - 1
    return np.asarray(
        np.minimum(target.astype("datetime64[D]").astype(np.int64) + day_of_month, last)
    )


def first_of_group(keys: np.ndarray) -> np.ndarray:
    """Mask of rows whose key differs from the previous row's (keys sorted)."""
    first = np.ones(len(keys), dtype=bool)
    first[1:] = keys[1:] != keys[:-1]
    return first


def keep_first(keys: np.ndarray, order_by: np.ndarray) -> np.ndarray:
    """Indices of the first row (smallest ``order_by``) of each distinct key."""
    order = np.lexsort((order_by, keys))
    return np.sort(order[first_of_group(keys[order])])


def null_after(days: np.ndarray, span: Span) -> np.ndarray:
    """Ends after the last day of the history are not known yet: the record is active."""
    return np.where(days <= span.t1, days, FOREVER)


def ascii_strings(chars: np.ndarray) -> pa.Array:
    """String column from an (n, width) array of ASCII codes, without Python strings."""
    n, width = chars.shape
    offsets = np.arange(n + 1, dtype=np.int32) * width
    data = np.ascontiguousarray(chars, dtype=np.uint8).tobytes()
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))


def digit_codes(values: np.ndarray, width: int) -> np.ndarray:
    """ASCII codes of the last ``width`` decimal digits of each value, zero-padded."""
    return ((values[:, None] // 10 ** np.arange(width - 1, -1, -1)) % 10 + ord("0")).astype(
        np.uint8
    )


def pick_strings(values: Sequence[str], idx: np.ndarray) -> pa.Array:
    """``values[idx]`` as a string column; negative indices give nulls."""
    idx = np.asarray(idx, dtype=np.int64)
    return pa.array(list(values), pa.string()).take(pa.array(idx, mask=idx < 0))


def decimal_strings(values: np.ndarray) -> pa.Array:
    """Integers as decimal strings."""
    return pa.array(np.asarray(values, dtype=np.int64)).cast(pa.string())


def join_strings(*parts: pa.Array | str) -> pa.Array:
    """String columns and constants concatenated row by row."""
    return pc.binary_join_element_wise(*parts, "")
