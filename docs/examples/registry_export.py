"""Map a registry export (国家企业信用信息公示系统-style) to CreditGraph's data contract.

Usage::

    python docs/examples/registry_export.py REGISTRY_FOLDER CONTRACT_FOLDER

REGISTRY_FOLDER holds the registry's tables, each as ``<name>.csv`` (UTF-8, or GB18030 as
saved on Chinese Windows) or ``<name>.xlsx``: 企业基本信息, 股东及出资信息, 主要人员,
分支机构 and 经营异常名录 (any of the last four may be missing). CONTRACT_FOLDER receives
the contract files for ``creditgraph load`` (docs/bring-your-own-data.md walks through
every column). What the script cannot map it passes on as given, and the loader warns
(an optional field) or rejects the row (a required one), naming file, line and field.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd
from export_tables import read_table, yuan

from graph_model.domain import load_domain

STATUS = load_domain().node("Enterprise").field("status").reads
"""登记状态 → status, as the loader reads it (存续 → active, 吊销，未注销 → revoked…).
存续（在营、开业、在册） is read as 存续: the part before a bracket."""

ROLES = load_domain().relation("OFFICER").field("role").reads
"""职务 → officer role, as the loader reads it (董事长 → director…); 执行董事兼总经理 gives two
rows. Other posts (财务负责人) are no officers of the contract and are left out."""

ABNORMAL_REASONS = {
    "年度报告": "no_annual_report",
    "无法联系": "unreachable_address",
    "即时信息": "failure_to_disclose",
    "责令的期限": "failure_to_disclose",
    "隐瞒真实情况": "false_disclosure",
    "弄虚作假": "false_disclosure",
}
"""A phrase of 列入经营异常名录原因 → the contract's reason (the four grounds of 《企业经营
异常名录管理暂行办法》 第四条)."""


def enterprise_id(values: pd.Series) -> pd.Series:
    """统一社会信用代码 as the contract keys it: upper case; an old 15-digit registration
    number (注册号) becomes ``REG:<number>``."""
    ids = values.str.upper()
    return ids.where(~ids.str.fullmatch(r"\d{15}", na=False), "REG:" + ids)


def convert(raw: Path, out: Path) -> dict[str, int]:
    """Write the contract files of the registry export in ``raw`` to ``out``; return the
    rows written per file."""
    base = read_table(raw, "企业基本信息")
    if base is None:
        raise SystemExit(f"{raw}: no 企业基本信息.csv or .xlsx")
    out.mkdir(parents=True, exist_ok=True)
    ids = enterprise_id(base["统一社会信用代码"])
    status = base["登记状态"].str.split("（").str[0]
    ended = status.map(STATUS).isin(["revoked", "deregistered"])
    enterprises = pd.DataFrame(
        {
            "id": ids,
            "name": base["企业名称"],
            "region_code": base["所属地区"],
            "industry": base["所属行业"],
            "registered_capital": yuan(base["注册资本"]),
            "established_on": base["成立日期"],
            "status": status.map(STATUS).fillna(status),  # unknown: as given, rejected
            "deregistered_on": base["注销/吊销日期"].where(ended, None),
            "address": base["住所"],
        }
    )
    tables = {
        "legal_reps": pd.DataFrame({"person_name": base["法定代表人"], "enterprise_id": ids}),
    }
    others: list[pd.DataFrame] = []  # firms named by a row but not in 企业基本信息

    officers = read_table(raw, "主要人员")
    if officers is not None:
        posts = officers.assign(post=officers["职务"].str.split("兼")).explode("post")
        roles = posts["post"].map(ROLES)
        left_out = posts.loc[roles.isna(), "post"].value_counts()
        if len(left_out):
            print(f"主要人员: not an officer of the contract, left out: {left_out.to_dict()}")
        tables["officers"] = pd.DataFrame(
            {
                "person_name": posts["姓名"],
                "enterprise_id": enterprise_id(posts["统一社会信用代码"]),
                "role": roles,
            }
        )[roles.notna()].drop_duplicates()  # 董事长 and 董事 of one person: one director

    holders = read_table(raw, "股东及出资信息")
    if holders is not None:
        person = holders["股东类型"].str.contains("自然人", na=False)
        holder_ids = enterprise_id(holders["证照/证件号码"])
        tables["shareholdings"] = pd.DataFrame(
            {
                "holder_type": person.map({True: "person", False: "enterprise"}),
                # The registry never shows a person's ID number: persons by name only.
                "holder_id": holder_ids.where(~person, None),
                "holder_name": holders["股东名称"].where(person, None),
                "enterprise_id": enterprise_id(holders["统一社会信用代码"]),
                "share_percent": holders["出资比例"].str.rstrip("%"),
                "subscribed_amount": yuan(holders["认缴出资额（万元）"]),
                "paid_in_amount": yuan(holders["实缴出资额（万元）"]),
            }
        )
        others.append(pd.DataFrame({"id": holder_ids, "name": holders["股东名称"]})[~person])

    branches = read_table(raw, "分支机构")
    if branches is not None:
        branch_ids = enterprise_id(branches["分支机构统一社会信用代码/注册号"])
        tables["branches"] = pd.DataFrame(
            {"head_office_id": enterprise_id(branches["统一社会信用代码"]), "branch_id": branch_ids}
        )
        others.append(pd.DataFrame({"id": branch_ids, "name": branches["分支机构名称"]}))

    abnormal = read_table(raw, "经营异常名录")
    if abnormal is not None:
        reason = pd.Series(None, index=abnormal.index, dtype=object)
        for phrase, code in ABNORMAL_REASONS.items():
            hit = reason.isna() & abnormal["列入经营异常名录原因"].str.contains(phrase, na=False)
            reason[hit] = code
        abnormal_ids = enterprise_id(abnormal["统一社会信用代码"])
        tables["abnormal_list"] = pd.DataFrame(
            {
                # The registry shows no document number: the firm and the day listed key it.
                "record_no": abnormal_ids + "/" + abnormal["列入日期"],
                "enterprise_id": abnormal_ids,
                "start": abnormal["列入日期"],
                "end": abnormal["移出日期"],
                "reason": reason.fillna(abnormal["列入经营异常名录原因"]),
                "authority": abnormal["作出决定机关（列入）"],
            }
        )

    # Shareholders and branches the export does not list are enterprises too: id and name.
    named = pd.concat(others) if others else pd.DataFrame(columns=["id", "name"])
    named = named[named["id"].notna() & ~named["id"].isin(ids)].drop_duplicates("id")
    tables["enterprises"] = pd.concat([enterprises, named], ignore_index=True)

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
