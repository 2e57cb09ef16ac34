"""The data home's currency rate table (graph_model/rates.py): read, chosen by date, applied
to amounts, and refused with its file, line and field when it cannot be trusted."""

from __future__ import annotations

import os
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from graph_model.rates import MAX_BYTES, Rate, RatesError, RateTable, read_rates, write_rates

HEADER = "currency,cny_per_unit,as_of,source\n"
TODAY = date(2026, 1, 15)


def table(tmp_path: Path, body: str, header: str = HEADER) -> Path:
    path = tmp_path / "rates.csv"
    path.write_text(header + body, encoding="utf-8")
    return path


def test_a_data_home_without_the_file_converts_only_cny(tmp_path: Path) -> None:
    rates = read_rates(tmp_path / "rates.csv")
    assert rates == RateTable()
    converted = rates.to_cny(
        np.array([100.0, 5.0, 7.0]), pa.array(["CNY", "USD", None]), date(2025, 6, 30)
    )
    assert converted[0] == 100.0 and converted[2] == 7.0  # no currency: CNY
    assert np.isnan(converted[1])  # unknown, never 0


def test_rates_are_read_and_chosen_by_date(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    # A BOM and CRLF line ends, as spreadsheets save them; a quoted source with a comma.
    path.write_bytes(
        (
            "\ufeff" + HEADER.replace("\n", "\r\n") + 'USD,7.2,2024-12-31,"CFETS, 中间价"\r\n'
            "USD,7.1,2025-12-31,CFETS\r\nEUR,7.9,2025-06-30,ECB\r\n\r\nCNY,1,2025-01-01,unit\r\n"
        ).encode()
    )
    rates = read_rates(path, today=TODAY)
    assert Rate("USD", 7.2, date(2024, 12, 31), "CFETS, 中间价") in rates.rates
    assert rates.on(date(2025, 6, 30)) == {"CNY": 1.0, "EUR": 7.9, "USD": 7.2}
    assert rates.on(date(2025, 12, 31))["USD"] == 7.1  # the latest on or before the day
    assert rates.on(date(2020, 1, 1))["USD"] == 7.2  # before the first: the first
    amounts = rates.to_cny(
        np.array([10.0, 10.0, 10.0, 10.0]), pa.chunked_array([["USD", "EUR"], ["JPY", "CNY"]]),
        date(2025, 12, 31),
    )  # fmt: skip
    np.testing.assert_array_equal(amounts[[0, 1, 3]], [71.0, 79.0, 10.0])
    assert np.isnan(amounts[2])  # JPY has no rate


def test_the_demo_writes_a_table_it_reads_back(tmp_path: Path) -> None:
    written = [
        Rate("EUR", 0.000123, date(2025, 1, 2), "tiny, quoted"),
        Rate("USD", 7.1, date(2025, 12, 31), "demo"),
    ]
    path = write_rates(tmp_path / "home" / "rates.csv", written)
    assert read_rates(path, today=TODAY).rates == tuple(written)


@pytest.mark.parametrize(
    ("body", "line", "field", "reason"),
    [
        ("usd,7.1,2025-12-31,x\n", 3, "currency", "not an ISO 4217 code"),
        ("US,7.1,2025-12-31,x\n", 3, "currency", "not an ISO 4217 code"),
        ("USD,-7.1,2025-12-31,x\n", 3, "cny_per_unit", "not a positive decimal"),
        ("USD,0,2025-12-31,x\n", 3, "cny_per_unit", "not above 0"),
        ("USD,nan,2025-12-31,x\n", 3, "cny_per_unit", "not a positive decimal"),
        ("USD,inf,2025-12-31,x\n", 3, "cny_per_unit", "not a positive decimal"),
        ("USD,1e3,2025-12-31,x\n", 3, "cny_per_unit", "not a positive decimal"),
        ("USD,,2025-12-31,x\n", 3, "cny_per_unit", "not a positive decimal"),
        ("CNY,7,2025-12-31,x\n", 3, "cny_per_unit", "CNY is the unit"),
        ("USD,7.1,2025-13-01,x\n", 3, "as_of", "not a date"),
        ("USD,7.1,20251231,x\n", 3, "as_of", "not a date"),
        ("USD,7.1,2026-02-01,x\n", 3, "as_of", "after today"),
        ("USD,7.1,2025-12-31,\n", 3, "source", "say where the rate comes from"),
        ("USD,7.1,2025-12-31,\"a\x1b[31mred\"\n", 3, "source", "control characters"),
        ("USD,7.1,2025-12-31,\"two\nlines\"\n", 4, "source", "line breaks"),
        ("USD,7.1,2025-12-31," + "x" * 201 + "\n", 3, "source", "1–200 characters"),
        ("USD,7.2,2025-12-31,a\nEUR,8,2025-12-31,b\nUSD,7.1,2025-12-31,c\n", 5, "as_of",
         "a second rate of USD on 2025-12-31 (the first is on line 3)"),
        ("USD,7.1,2025-12-31,a,extra\n", 3, None, "5 fields where the header has 4"),
        ("USD,7.1\n", 3, None, "2 fields where the header has 4"),
    ],
)  # fmt: skip
def test_a_bad_row_is_refused_with_its_line_and_field(
    tmp_path: Path, body: str, line: int, field: str | None, reason: str
) -> None:
    path = table(tmp_path, "EUR,7.9,2025-06-30,ECB\n" + body)  # body from line 3
    with pytest.raises(RatesError) as refused:
        read_rates(path, today=TODAY)
    error = refused.value
    assert (error.path, error.line, error.field) == (path, line, field)
    assert reason in error.reason
    where = f", line {line}" + (f", field {field}" if field else "")
    assert str(error) == f"{path}{where}: {error.reason}"
    assert "\x1b" not in str(error) and "\n" not in str(error)  # echoed values neutralised


@pytest.mark.parametrize(
    ("header", "field", "reason"),
    [
        ("currency,rate,as_of,source\n", "'rate'", "not a column of the rate table"),
        ("currency,as_of,source\n", "cny_per_unit", "column missing"),
        ("currency,cny_per_unit,as_of,source,source\n", "source", "given twice"),
    ],
)
def test_a_bad_header_is_refused(tmp_path: Path, header: str, field: str, reason: str) -> None:
    with pytest.raises(RatesError) as refused:
        read_rates(table(tmp_path, "USD,7.1,2025-12-31,x\n", header=header), today=TODAY)
    assert (refused.value.line, refused.value.field) == (1, field)
    assert reason in refused.value.reason


def test_a_file_that_cannot_be_used_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "rates.csv"
    cases: list[tuple[bytes, int | None, str]] = [
        (b"", 1, "empty: the header currency,cny_per_unit,as_of,source is missing"),
        (HEADER.encode() + b"USD,7.1,2025-12-31,\xff\xfe\n", 2, "not UTF-8"),
        (HEADER.encode() + b"USD,7.1,2025-12-31,a\x00b\n", 2, "a NUL byte"),
        (HEADER.encode() + b'USD,7.1,2025-12-31,"open\n', 2, "not CSV"),
        (b"x" * (MAX_BYTES + 1), None, "larger than"),
    ]
    for data, line, reason in cases:
        path.write_bytes(data)
        with pytest.raises(RatesError) as refused:
            read_rates(path, today=TODAY)
        assert refused.value.line == line and reason in refused.value.reason, data[:60]
    path.unlink()
    path.mkdir()
    with pytest.raises(RatesError, match="not a regular file"):
        read_rates(path)
    path.rmdir()
    os.mkfifo(path)  # would block a reader for ever
    with pytest.raises(RatesError, match="not a regular file"):
        read_rates(path)
