"""Every CSV the product writes neutralises spreadsheet formulas (OWASP, CSV injection)."""

from __future__ import annotations

import csv
from pathlib import Path

import pyarrow as pa
import pytest

from graph_model.csv_cells import safe_cell, safe_table, write_safe_csv

HOSTILE = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx"]


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_starting_like_a_formula_is_quoted(value: str) -> None:
    assert safe_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["宁波甬城有限公司", "a=b", "", "91350100M000100Y43"])
def test_other_cells_are_left_as_they_are(value: str) -> None:
    assert safe_cell(value) == value


def test_tables_quote_text_cells_only(tmp_path: Path) -> None:
    table = pa.table(
        {"name": [*HOSTILE, "ok", None], "amount": [-1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, None]}
    )
    safe = safe_table(table)
    assert safe["name"].to_pylist() == ["'" + v for v in HOSTILE] + ["ok", None]
    assert safe["amount"].equals(table["amount"])  # a negative number is not a formula
    write_safe_csv(table, tmp_path / "out.csv")
    rows = _rows(tmp_path / "out.csv")
    assert [r["name"] for r in rows[:6]] == ["'" + v for v in HOSTILE]
