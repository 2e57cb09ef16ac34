"""Record windows, repair and objections (the ``rules`` of record kinds in ``domain.yaml``).

Applied where a snapshot is taken, so that features, the model and warnings all see the
same thing:

- the **effective end** of a record is the end given in the data, cut at the end of its
  publicity window (``start`` + the kind's period; a later given end survives up to the
  kind's ``extension``); a kind without a window keeps the given end;
- a **repaired** record (``repaired_on`` on or before the as-of date) and one **annulled** by
  an upheld objection (``dispute_upheld`` and ``dispute_resolved_on`` on or before the as-of
  date) leave the snapshot: from that day the record is neither published nor used, not
  even as history (NDRC Order 36: the evaluation is redone without it);
- a **disputed** record (objection filed, not yet decided) still counts and is marked.

Periods are whole calendar months counted from ``start``: the same day of the month, or the
month's last day when that day does not exist (2024-02-29 + 1 year = 2025-02-28).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.domain import Domain, Window, load_domain

REPAIRED_ON = "repaired_on"
DISPUTED_ON = "disputed_on"
DISPUTE_RESOLVED_ON = "dispute_resolved_on"
DISPUTE_UPHELD = "dispute_upheld"


def as_days(column: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """A date column as ``datetime64[D]``, NaT for null."""
    ints = pc.cast(column, pa.int32()).to_numpy(zero_copy_only=False)
    out = np.full(len(ints), np.datetime64("NaT"), dtype="datetime64[D]")
    valid = ~np.isnan(ints.astype(np.float64))
    out[valid] = ints[valid].astype(np.int64).astype("datetime64[D]")
    return out


def to_dates(days: np.ndarray) -> pa.Array:
    """``datetime64[D]`` values as an Arrow date column, NaT as null."""
    return pa.array(days.astype("datetime64[D]"), pa.date32(), from_pandas=True)


def add_months(days: np.ndarray, months: np.ndarray | int) -> np.ndarray:
    """``days`` (``datetime64[D]``) plus whole calendar months, clamped to the month's end."""
    first = days.astype("datetime64[M]")
    day_of_month = (days - first.astype("datetime64[D]")).astype(np.int64)
    target = first + np.asarray(months, dtype=np.int64)
    last = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(
        np.int64
    ) - 1
    out = target.astype("datetime64[D]") + np.minimum(day_of_month, last)
    out[np.isnat(days)] = np.datetime64("NaT")
    return np.asarray(out)


def window_months(window: Window, table: pa.Table, rows: np.ndarray) -> np.ndarray:
    """The window's length in months for the given rows of a records table."""
    months = np.full(len(rows), window.default.months, dtype=np.int64)
    if window.by is not None and window.by in table.column_names:
        values = table[window.by].take(pa.array(rows)).to_numpy(zero_copy_only=False)
        for value, period in window.cases:
            months[values == value] = period.months
    return months


def _kind_rows(table: pa.Table, kind: str) -> np.ndarray:
    return np.flatnonzero(
        np.asarray(pc.fill_null(pc.equal(table["kind"], kind), False).to_numpy(), dtype=bool)
    )


def effective_ends(table: pa.Table, domain: Domain | None = None) -> np.ndarray:
    """The effective end (``datetime64[D]``, NaT when open) of every record of a records
    table with ``kind``, ``start``, ``end`` and the fields the windows depend on."""
    d = domain or load_domain()
    start = as_days(table["start"])
    end = as_days(table["end"])
    out = end.copy()
    for spec in d.records:
        window = spec.rules.publicity
        if window is None:
            continue
        rows = _kind_rows(table, spec.kind)
        rule_end = add_months(start[rows], window_months(window, table, rows))
        extension = spec.rules.extension.months if spec.rules.extension else 0
        cap = add_months(rule_end, extension)
        given = end[rows]
        out[rows] = np.where(np.isnat(given), rule_end, np.minimum(given, cap))
    return out


def _flag(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def withdrawn(table: pa.Table, as_of: date) -> np.ndarray:
    """Records repaired, or annulled by an upheld objection, on or before ``as_of``."""
    day = pa.scalar(as_of, pa.date32())
    repaired = _flag(pc.less_equal(table[REPAIRED_ON], day))
    annulled = _flag(
        pc.and_(
            pc.equal(table[DISPUTE_UPHELD], True),
            pc.less_equal(table[DISPUTE_RESOLVED_ON], day),
        )
    )
    return np.asarray(repaired | annulled)


def effective_records(table: pa.Table, as_of: date, domain: Domain | None = None) -> pa.Table:
    """The records as they count on ``as_of``: withdrawn ones dropped, ``end`` the effective
    end. Dates after ``as_of`` are left for the caller to blank (the snapshot does)."""
    ends = to_dates(effective_ends(table, domain))
    table = table.set_column(table.column_names.index("end"), "end", ends)
    return table.filter(pa.array(~withdrawn(table, as_of)))


def disputed(table: pa.Table) -> np.ndarray:
    """Records under an objection not yet decided, in a snapshot's records table (where
    dates after the as-of date are blank, so a later decision reads as pending)."""
    return _flag(pc.and_(pc.is_valid(table[DISPUTED_ON]), pc.is_null(table[DISPUTE_RESOLVED_ON])))


def earliest_repair(window: Window, table: pa.Table) -> np.ndarray:
    """First day each row of a table of one record kind may be repaired (``datetime64[D]``)."""
    rows = np.arange(table.num_rows)
    return add_months(as_days(table["start"]), window_months(window, table, rows))
