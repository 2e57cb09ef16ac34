"""Cells of the CSV files the product writes, made safe to open in a spreadsheet.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
Excel, WPS and LibreOffice as a formula (CSV injection): a firm's name such as
``=HYPERLINK("http://…")`` from a hostile source would run on the regulator's machine. As
OWASP recommends, such a cell is written with a leading single quote, which spreadsheets
show as text. Every CSV the product writes (reject files, plan and extension-check exports,
escalations) goes through here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_START = "^[=+\\-@\t\r]"


def safe_cell(value: Any) -> Any:
    """``value`` as a spreadsheet shows it: text starting like a formula gets a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_table(table: pa.Table) -> pa.Table:
    """``table`` with every text cell that starts like a formula quoted (numbers untouched)."""
    for i, field in enumerate(table.schema):
        if pa.types.is_string(field.type) or pa.types.is_large_string(field.type):
            col = table.column(i)
            risky = pc.fill_null(pc.match_substring_regex(col, _FORMULA_START), False)
            if pc.any(risky).as_py():
                quoted = pc.binary_join_element_wise("'", col, "")
                table = table.set_column(i, field, pc.if_else(risky, quoted, col))
    return table


def write_safe_csv(table: pa.Table, sink: Path | pa.NativeFile) -> None:
    """Write ``table`` as CSV with its cells made safe (``safe_table``)."""
    pacsv.write_csv(safe_table(table), sink)
