"""What the mapping scripts beside this file share: reading one table of a raw export.

An export's tables come as ``<name>.xlsx`` or ``<name>.csv`` (UTF-8, or GB18030 as many
Chinese systems write it); every value is read as text, trimmed, and what exports write for
"no value" becomes None. The scripts import it from this folder (``python
docs/examples/<script>.py`` puts the folder on the import path); copy it with them.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

NOT_GIVEN = {"", "-", "—", "无", "暂无", "不公示", "非公示项"}
"""What registries, data providers and ledgers write for 'no value'."""


def read_table(folder: Path, name: str) -> pd.DataFrame | None:
    """The table ``name`` of the export in ``folder`` as text (None where nothing is given),
    or None when the export has no such table."""
    if (folder / f"{name}.xlsx").exists():
        table = pd.read_excel(folder / f"{name}.xlsx", dtype=str)
    elif (folder / f"{name}.csv").exists():
        path = folder / f"{name}.csv"
        try:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        except UnicodeDecodeError:
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="gb18030")
    else:
        return None
    table.columns = [str(c).strip() for c in table.columns]
    table = table.apply(lambda column: column.str.strip())
    return table.where(~table.isin(NOT_GIVEN) & table.notna(), None)


def yuan(values: pd.Series) -> pd.Series:
    """Amounts in 万元 (``500``, ``500万元``, ``1000万人民币``, ``1,000.5万元人民币``) in yuan;
    any other text (``50万美元``, ``一百万元``) is passed on as given, for the loader to warn
    about."""
    text = values.str.replace(",", "", regex=False)
    number = text.str.extract(r"^(\d+(?:\.\d+)?)(?:万元?)?(?:人民币)?$", expand=False)
    converted = (pd.to_numeric(number) * 10_000).round(2).astype(str)
    return converted.where(number.notna(), values)
