"""Map a bank's borrower and guarantee ledger to CreditGraph's data contract and a labels file.

Usage::

    python docs/examples/bank_ledger.py LEDGER_FOLDER CONTRACT_FOLDER LABELS_FILE

LEDGER_FOLDER holds the ledger's tables, each as ``<name>.csv`` (UTF-8, or GB18030 as core
banking systems export) or ``<name>.xlsx``: 借款人 (borrowers), 担保合同 (guarantee
contracts) and 贷款违约 (loan defaults). CONTRACT_FOLDER receives enterprises.csv and
guarantees.csv for ``creditgraph load``; LABELS_FILE (a .csv) the defaults as outcomes
for ``creditgraph train --labels`` (docs/bring-your-own-data.md walks through every
column). What the script cannot map it passes on as given, and the loader warns or
rejects the row, naming file, line and field.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from export_tables import read_table

CURRENCIES = {
    "人民币": "CNY",
    "RMB": "CNY",
    "美元": "USD",
    "欧元": "EUR",
    "港币": "HKD",
    "港元": "HKD",
    "日元": "JPY",
}
"""币种 → ISO 4217; a code (CNY, USD) is kept as it is."""

LABEL = "bank default"
"""The outcome's name in the labels file (any name: every label counts as bad)."""


def wan(values: pd.Series) -> pd.Series:
    """Amounts in 万 of their currency (``500``, ``1,200.00``) in units; any other text is
    passed on as given, for the loader to warn about."""
    number = pd.to_numeric(values.str.replace(",", "", regex=False), errors="coerce")
    return (number * 10_000).round(2).astype(str).where(number.notna(), values)


def day(values: pd.Series) -> pd.Series:
    """Dates as the ledger writes them (20240903, 2024-09-03) as datetimes (NaT if not)."""
    digits = values.str.replace(r"\D", "", regex=True)
    return pd.to_datetime(digits, format="%Y%m%d", errors="coerce")


def convert(raw: Path, out: Path, labels: Path) -> dict[str, int]:
    """Write the contract files of the ledger in ``raw`` to ``out`` and its defaults to
    ``labels``; return the rows written per file."""
    tables = {name: read_table(raw, name) for name in ("借款人", "担保合同", "贷款违约")}
    missing = [name for name, table in tables.items() if table is None]
    if missing:
        raise SystemExit(f"{raw}: no {', '.join(missing)} table (.csv or .xlsx) in the ledger")
    borrowers, contracts, defaults = tables.values()
    out.mkdir(parents=True, exist_ok=True)

    enterprises = pd.DataFrame(
        {
            "id": borrowers["统一社会信用代码"].str.upper(),
            "name": borrowers["客户名称"],
            "region_code": borrowers["注册地行政区划代码"],
            "industry": borrowers["国标行业代码"],  # a class code (C3484) names its section
            "registered_capital": wan(borrowers["注册资本(万元)"]),
            "established_on": borrowers["成立日期"],
        }
    )

    # Only a guarantee by a firm (保证) is a GUARANTEES relation: a mortgage or pledge
    # (抵押, 质押) is collateral, and a natural person's guarantee has no firm to link.
    by_firm = contracts["担保方式"].str.contains("保证", na=False)
    by_firm &= contracts["担保人统一社会信用代码"].notna()
    print(f"担保合同: {int((~by_firm).sum())} row(s) not a firm's guarantee, left out")
    kept = contracts[by_firm]
    # 担保到期日 is the last day covered; valid_to is the first day after it.
    last = day(kept["担保到期日"])
    after = (last + pd.Timedelta(days=1)).dt.strftime("%Y-%m-%d")
    # A loan's default makes its guarantors liable on that day (主合同编号 = the loan).
    defaulted = defaults.drop_duplicates("借款合同编号").set_index("借款合同编号")["违约日期"]
    currency = kept["币种"].map(lambda c: CURRENCIES.get(c, c) if isinstance(c, str) else c)
    guarantees = pd.DataFrame(
        {
            "contract_no": kept["担保合同编号"],
            "guarantor_id": kept["担保人统一社会信用代码"].str.upper(),
            "guaranteed_id": kept["借款人统一社会信用代码"].str.upper(),
            "amount": wan(kept["担保金额(万元)"]),  # empty: unknown, never 0
            "currency": currency,
            "valid_from": kept["担保起始日"],
            "valid_to": after.where(last.notna(), kept["担保到期日"]),
            "defaulted_on": kept["主合同编号"].map(defaulted),
        }
    )
    # Guarantors that borrow nothing are enterprises too: id and name.
    guarantors = pd.DataFrame({"id": guarantees["guarantor_id"], "name": kept["担保人名称"]})
    guarantors = guarantors[~guarantors["id"].isin(enterprises["id"])].drop_duplicates("id")
    enterprises = pd.concat([enterprises, guarantors], ignore_index=True)

    outcomes = pd.DataFrame(
        {
            "enterprise_id": defaults["借款人统一社会信用代码"].str.upper(),
            "event_date": defaults["违约日期"],
            "label": LABEL,
        }
    ).drop_duplicates()

    enterprises.to_csv(out / "enterprises.csv", index=False, encoding="utf-8")
    guarantees.to_csv(out / "guarantees.csv", index=False, encoding="utf-8")
    labels.parent.mkdir(parents=True, exist_ok=True)
    outcomes.to_csv(labels, index=False, encoding="utf-8")
    return {
        "enterprises.csv": len(enterprises),
        "guarantees.csv": len(guarantees),
        labels.name: len(outcomes),
    }


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit(__doc__)
    written = convert(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
    for file, rows in written.items():
        print(f"{file}: {rows} rows")
