"""Map a commercial data provider's company-relations export to CreditGraph's data contract.

Usage::

    python docs/examples/provider_export.py EXPORT_FOLDER CONTRACT_FOLDER

EXPORT_FOLDER holds the provider's tables, each as ``<name>.csv`` (UTF-8, or GB18030) or
``<name>.xlsx``: 企业列表, and any of 人员列表, 主要人员, 股东信息, 分支机构, 裁判文书,
被执行人 and 失信被执行人. The provider's own ids key what has no code: an enterprise
without a USCC becomes ``SRC:provider:<企业ID>``, a person ``SRC:provider:<人员ID>``, so
the same id in the next export is the same node (set ``SOURCE`` to your provider's short
name). A person the export gives no id for is known by name only, scoped to the firm that
names them. What the script cannot map it passes on as given, and the loader warns or
rejects the row, naming file, line and field (docs/bring-your-own-data.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from export_tables import read_table, yuan

from graph_model.domain import load_domain

SOURCE = "provider"
"""Dataset name of the ``SRC:`` ids: lower-case letters, digits and ``_``."""

STATUS = load_domain().node("Enterprise").field("status").reads
"""登记状态 → status, as the loader reads it (存续 → active, 吊销，未注销 → revoked…).
存续（在营、开业、在册） is read as 存续: the part before a bracket."""

ROLES = load_domain().relation("OFFICER").field("role").reads
"""职务 → officer role, as the loader reads it (董事长 → director…); 执行董事兼总经理 gives two
rows. Other posts (财务负责人) are no officers of the contract and are left out."""

PARTY = load_domain().record("lawsuit").field("role").reads
"""诉讼身份 → role of a lawsuit. On appeal the first-instance role counts:
上诉人（原审被告） is a defendant. Other roles (申请人 of a non-litigation case) are left out."""


def source_id(values: pd.Series) -> pd.Series:
    """The provider's id as a contract id, ``SRC:<SOURCE>:<id>``; None stays None."""
    return (f"SRC:{SOURCE}:" + values).where(values.notna(), None)


def person(ids: pd.Series, names: pd.Series) -> tuple[pd.Series, pd.Series]:
    """(source id, name) columns of the persons a relation names: the provider's person id
    where it gives one, else the name alone."""
    return source_id(ids), names.where(ids.isna(), None)


def convert(raw: Path, out: Path) -> dict[str, int]:
    """Write the contract files of the provider export in ``raw`` to ``out``; return the
    rows written per file."""
    firms = read_table(raw, "企业列表")
    if firms is None:
        raise SystemExit(f"{raw}: no 企业列表.csv or .xlsx")
    out.mkdir(parents=True, exist_ok=True)
    uscc = firms["统一社会信用代码"].str.upper()
    ids = uscc.where(uscc.str.len() == 18, source_id(firms["企业ID"]))
    firm_id = dict(zip(firms["企业ID"], ids, strict=True))

    def enterprise(provider_ids: pd.Series) -> pd.Series:
        """Contract ids of the provider's enterprise ids (SRC: for a firm not listed)."""
        return provider_ids.map(firm_id).fillna(source_id(provider_ids))

    status = firms["经营状态"].str.split("（").str[0]
    ended = status.map(STATUS).isin(["revoked", "deregistered"])
    where = firms[["所属省份", "所属城市", "所属区县"]].fillna("").agg("".join, axis=1)
    rep_id, rep_name = person(firms["法定代表人ID"], firms["法定代表人"])
    tables: dict[str, pd.DataFrame] = {
        "enterprises": pd.DataFrame(
            {
                "id": ids,
                "name": firms["企业名称"],
                "region_code": where.where(where != "", None),  # 浙江省宁波市海曙区
                "industry": firms["国标行业大类"].fillna(firms["国标行业门类"]),
                "registered_capital": yuan(firms["注册资本"]),
                "paid_in_capital": yuan(firms["实缴资本"]),
                "established_on": firms["成立日期"],
                "status": status.map(STATUS).fillna(status),  # unknown: as given, rejected
                "address": firms["注册地址"],
                "phone": firms["联系电话"],
            }
        ),
        "legal_reps": pd.DataFrame(
            {"person_id_number": rep_id, "person_name": rep_name, "enterprise_id": ids}
        ),
    }
    # 经营状态 says a firm ended, not when: deregistered_on stays empty (unknown).
    if ended.any():
        print(f"企业列表: {int(ended.sum())} firm(s) revoked or deregistered, day not given")

    people = read_table(raw, "人员列表")
    if people is not None:
        tables["persons"] = pd.DataFrame(
            {"source_id": source_id(people["人员ID"]), "name": people["姓名"]}
        )

    staff = read_table(raw, "主要人员")
    if staff is not None:
        posts = staff.assign(post=staff["职务"].str.split("兼")).explode("post")
        roles = posts["post"].map(ROLES)
        pid, name = person(posts["人员ID"], posts["姓名"])
        tables["officers"] = pd.DataFrame(
            {
                "person_id_number": pid,
                "person_name": name,
                "enterprise_id": enterprise(posts["企业ID"]),
                "role": roles,
            }
        )[roles.notna()].drop_duplicates()

    holders = read_table(raw, "股东信息")
    others = pd.DataFrame(columns=["id", "name"])
    if holders is not None:
        natural = holders["股东类型"] == "自然人"
        pid, name = person(holders["股东ID"], holders["股东名称"])
        holding_firm = enterprise(holders["股东ID"])
        tables["shareholdings"] = pd.DataFrame(
            {
                "holder_type": natural.map({True: "person", False: "enterprise"}),
                "holder_id": pid.where(natural, holding_firm),
                "holder_name": name.where(natural, None),
                "enterprise_id": enterprise(holders["企业ID"]),
                # Mostly not given: the loader derives the stake from 认缴 / 注册资本.
                "share_percent": holders["持股比例"].str.rstrip("%"),
                "subscribed_amount": yuan(holders["认缴出资额(万元)"]),
                "paid_in_amount": yuan(holders["实缴出资额(万元)"]),
            }
        )
        # An enterprise shareholder outside the export is an enterprise too: id and name.
        outside = ~natural & ~holders["股东ID"].isin(firm_id.keys())
        others = pd.DataFrame({"id": holding_firm, "name": holders["股东名称"]})[outside]
    tables["enterprises"] = pd.concat(
        [tables["enterprises"], others.drop_duplicates("id")], ignore_index=True
    )

    branches = read_table(raw, "分支机构")
    if branches is not None:
        tables["branches"] = pd.DataFrame(
            {
                "head_office_id": enterprise(branches["总公司企业ID"]),
                "branch_id": enterprise(branches["分支机构企业ID"]),
            }
        )

    suits = read_table(raw, "裁判文书")
    if suits is not None:
        # 上诉人（原审被告）: the part in brackets after 原审 if any, else the whole.
        first = suits["诉讼身份"].str.extract(r"原审(原告|被告|第三人)", expand=False)
        role = first.fillna(suits["诉讼身份"]).map(PARTY)
        left_out = suits.loc[role.isna(), "诉讼身份"].value_counts()
        if len(left_out):
            print(f"裁判文书: no party role of the contract, left out: {left_out.to_dict()}")
        tables["lawsuits"] = pd.DataFrame(
            {
                "record_no": suits["案号"],
                "enterprise_id": enterprise(suits["企业ID"]),
                "start": suits["裁判日期"],
                "role": role,
                "cause": suits["案由"],
                "amount": suits["涉案金额(元)"],
                "authority": suits["审理法院"],
            }
        )[role.notna()]

    enforced = read_table(raw, "被执行人")
    if enforced is not None:
        tables["enforcements"] = pd.DataFrame(
            {
                "record_no": enforced["案号"],
                "enterprise_id": enterprise(enforced["企业ID"]),
                "start": enforced["立案日期"],
                "amount": enforced["执行标的(元)"],
                "authority": enforced["执行法院"],
            }
        )

    dishonest = read_table(raw, "失信被执行人")
    if dishonest is not None:
        tables["dishonest_debtors"] = pd.DataFrame(
            {
                "record_no": dishonest["案号"],
                "enterprise_id": enterprise(dishonest["企业ID"]),
                "start": dishonest["发布日期"],  # listed from the day it was published
                "authority": dishonest["执行法院"],
            }
        )

    written = {}
    for table, frame in tables.items():
        frame.to_csv(out / f"{table}.csv", index=False, encoding="utf-8")
        written[f"{table}.csv"] = len(frame)
    return written


if __name__ == "__main__":
    if len(sys.argv) != 3:
        raise SystemExit(__doc__)
    for file, rows in convert(Path(sys.argv[1]), Path(sys.argv[2])).items():
        print(f"{file}: {rows} rows")
