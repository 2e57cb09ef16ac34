"""Currency rates: the data home's ``rates.csv``, how many CNY one unit of a currency is worth.

Guarantee amounts are stored in their own currency (ISO 4217, ``currency`` of GUARANTEES).
Whatever adds amounts up (features, circle totals) converts them to CNY with this table and
never drops one: an amount in a currency the table has no rate for is unknown in CNY (NaN)
and is reported unconverted, in its own currency.

The file is input like any other and is checked as such: the header names exactly
:data:`COLUMNS`, every code is three capital letters, every rate a positive finite decimal,
every date a real day not after today, every source a short line of text; a currency has one
rate per date and CNY, when listed, is 1. A refusal names the file, the line, the field and
the reason. A data home without the file has no rates: CNY amounts only.

A currency may have rates of several dates: a day uses the latest rate dated on or before
it, and a day before the first rate of a currency uses that first rate (a table started
later than the data still converts the earlier months).
"""

from __future__ import annotations

import csv
import io
import math
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.errors import CreditGraphError

BASE_CURRENCY = "CNY"
"""The currency every total is in; an amount without a currency is in it (domain default)."""

MAX_SOURCE = 200
"""Longest ``source`` accepted, in characters."""

COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("currency", "string", "matches `^[A-Z]{3}$`", "ISO 4217 code, as in GUARANTEES"),
    (
        "cny_per_unit",
        "decimal",
        "> 0, digits with an optional decimal point (`7.1`, `0.048`); `1` for CNY",
        "CNY one unit of the currency is worth",
    ),
    ("as_of", "date", "`yyyy-mm-dd`, not after today", "Day the rate was fixed"),
    (
        "source",
        "string",
        f"1–{MAX_SOURCE} characters, no control characters",
        "Where the rate comes from (e.g. the CFETS central parity of that day)",
    ),
)
"""The columns of ``rates.csv``: name, type, rule and meaning (rendered into the data contract)."""

MAX_BYTES = 1_000_000
"""A rate table larger than this is refused: a real one has a few hundred rows."""

_CODE = re.compile(r"[A-Z]{3}")
_DECIMAL = re.compile(r"[0-9]{1,12}(\.[0-9]{1,12})?")
_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


class RatesError(CreditGraphError, ValueError):
    """The rate table cannot be used: which file, line and field, and why."""

    http_status = 503
    code = "unavailable"

    def __init__(self, path: Path, line: int | None, field: str | None, reason: str) -> None:
        self.path, self.line, self.field, self.reason = path, line, field, reason
        where = "".join(
            (f", line {line}" if line is not None else "", f", field {field}" if field else "")
        )
        super().__init__(f"{path}{where}: {reason}")


@dataclass(frozen=True)
class Rate:
    """One row of the table: ``cny_per_unit`` CNY for one unit of ``currency`` on ``as_of``."""

    currency: str
    cny_per_unit: float
    as_of: date
    source: str


@dataclass(frozen=True)
class RateTable:
    """Every rate of the table, sorted by currency and date. Empty: CNY amounts only."""

    rates: tuple[Rate, ...] = ()

    def on(self, day: date) -> dict[str, float]:
        """CNY per unit of each currency on ``day`` (see the module docstring), CNY included."""
        out: dict[str, float] = {}
        for rate in self.rates:  # sorted by currency, then date
            if rate.currency not in out or rate.as_of <= day:
                out[rate.currency] = rate.cny_per_unit
        out[BASE_CURRENCY] = 1.0
        return dict(sorted(out.items()))

    def to_cny(
        self, amount: np.ndarray, currency: pa.Array | pa.ChunkedArray, day: date
    ) -> np.ndarray:
        """``amount`` (in ``currency``, null read as CNY) in CNY on ``day``; NaN where the
        currency has no rate. Vectorised: one lookup per row, not a Python loop."""
        factors = self.on(day)
        codes = pc.fill_null(pc.cast(currency, pa.string()), BASE_CURRENCY)
        at = pc.index_in(codes, value_set=pa.array(list(factors), pa.string()))
        position = np.asarray(at.fill_null(len(factors)).to_numpy(zero_copy_only=False))
        per_unit = np.array([*factors.values(), np.nan])
        return np.asarray(np.asarray(amount, dtype=np.float64) * per_unit[position])


def _shown(value: str) -> str:
    """A cell for a message: escaped (no line breaks or control characters), cut short."""
    return ascii(value if len(value) <= 40 else value[:40] + "…")


def read_rates(path: Path, today: date | None = None) -> RateTable:
    """The rate table at ``path``; an empty table when there is no file. Refuses a file that
    is not a regular file, too large, not UTF-8, or has any bad row (:class:`RatesError`)."""
    if not path.exists() and not path.is_symlink():
        return RateTable()
    if not path.is_file():
        raise RatesError(path, None, None, "not a regular file")
    if path.stat().st_size > MAX_BYTES:
        raise RatesError(path, None, None, f"larger than {MAX_BYTES:,} bytes")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise RatesError(path, line, None, "not UTF-8") from None
    if "\x00" in text:
        raise RatesError(path, text[: text.index("\x00")].count("\n") + 1, None, "a NUL byte")
    if not text.strip():
        raise RatesError(path, 1, None, f"empty: the header {','.join(_names())} is missing")
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader)
        _check_header(path, header)
        rows = [(reader.line_num, row) for row in reader]
    except csv.Error as exc:
        raise RatesError(path, reader.line_num, None, f"not CSV ({exc})") from None
    today = today or date.today()
    rates: dict[tuple[str, date], tuple[int, Rate]] = {}
    for line, row in rows:
        if not row:
            continue  # a blank line
        if len(row) != len(header):
            raise RatesError(
                path, line, None, f"{len(row)} fields where the header has {len(header)}"
            )
        cells = dict(zip(header, row, strict=True))
        rate = _rate(path, line, cells, today)
        earlier = rates.get((rate.currency, rate.as_of))
        if earlier is not None:
            raise RatesError(
                path, line, "as_of", f"a second rate of {rate.currency} on {rate.as_of} "
                f"(the first is on line {earlier[0]})",
            )  # fmt: skip
        rates[rate.currency, rate.as_of] = (line, rate)
    return RateTable(tuple(rates[key][1] for key in sorted(rates)))


def _names() -> list[str]:
    return [name for name, *_ in COLUMNS]


def _check_header(path: Path, header: list[str]) -> None:
    names = _names()
    for name in header:
        if name not in names:
            raise RatesError(
                path, 1, _shown(name), f"not a column of the rate table ({', '.join(names)})"
            )
    for name in names:
        if header.count(name) != 1:
            problem = "missing" if name not in header else "given twice"
            raise RatesError(path, 1, name, f"column {problem} in the header")


def _rate(path: Path, line: int, cells: dict[str, str], today: date) -> Rate:
    code = cells["currency"]
    if not _CODE.fullmatch(code):
        raise RatesError(
            path, line, "currency", f"{_shown(code)} is not an ISO 4217 code (3 capital letters)"
        )
    text = cells["cny_per_unit"]
    if not _DECIMAL.fullmatch(text):
        raise RatesError(
            path, line, "cny_per_unit", f"{_shown(text)} is not a positive decimal like 7.1"
        )
    value = float(text)
    if not (math.isfinite(value) and value > 0):
        raise RatesError(path, line, "cny_per_unit", f"{_shown(text)} is not above 0")
    if code == BASE_CURRENCY and value != 1.0:
        raise RatesError(path, line, "cny_per_unit", f"CNY is the unit: its rate is 1, not {text}")
    day_text = cells["as_of"]
    try:
        if not _DAY.fullmatch(day_text):
            raise ValueError
        day = date.fromisoformat(day_text)
    except ValueError:
        raise RatesError(
            path, line, "as_of", f"{_shown(day_text)} is not a date (yyyy-mm-dd)"
        ) from None
    if day > today:
        raise RatesError(path, line, "as_of", f"{day} is after today ({today})")
    source = cells["source"]
    if not source.strip() or len(source) > MAX_SOURCE or _CONTROL.search(source):
        raise RatesError(
            path, line, "source",
            f"{_shown(source)}: say where the rate comes from in 1–{MAX_SOURCE} characters "
            "without line breaks or control characters",
        )  # fmt: skip
    return Rate(code, value, day, source)


def write_rates(path: Path, rates: list[Rate]) -> Path:
    """Write a rate table (the demo's) that :func:`read_rates` reads back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as out:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(_names())
        for r in rates:
            rate = np.format_float_positional(r.cny_per_unit, trim="-")
            writer.writerow([r.currency, rate, r.as_of.isoformat(), r.source])
    return path
