"""Relations and records that real sources have (issue 16): branches, investments with amounts
and derived stakes, paid-in capital, guarantees with unknown parts, court records, tax
violations and status events, loaded from CSV into the embedded store and seen in a snapshot."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest
from conftest import SALT, graph_state, make_resident_id, make_uscc

from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from loaders.summary import LoadSummary
from risk.features import compute_features

WriteFiles = Callable[[str, dict[str, str | bytes]], Path]
Rows = list[list[str]]

HEAD, BRANCH, OTHER, SUPPLIER, SMALL = (make_uscc(i) for i in range(40, 45))
P1 = make_resident_id(40)
AS_OF = date(2025, 6, 30)
CASE = "（2025）浙0203民初101号"

# fmt: off
FILES: dict[str, Rows] = {
    "enterprises": [
        ["id", "name", "registered_capital", "paid_in_capital", "established_on"],
        [HEAD, "宁波总部贸易有限公司", "10000000", "2500000", "2010-01-01"],
        [BRANCH, "宁波总部贸易有限公司江北分公司", "", "", "2015-01-01"],
        [OTHER, "宁波其他制造有限公司", "1000000", "", "2012-01-01"],
        [SUPPLIER, "宁波供应商有限公司", "", "", "2012-01-01"],
        [SMALL, "宁波小微科技有限公司", "100000", "0", "2020-01-01"],
    ],
    "persons": [["id_number", "name"], [P1, "张三"]],
    "branches": [
        ["head_office_id", "branch_id", "valid_from", "valid_to"],
        [HEAD, BRANCH, "2015-01-01", ""],
    ],
    "shareholdings": [
        ["holder_type", "holder_id", "enterprise_id", "share_percent", "subscribed_amount",
         "paid_in_amount", "valid_from"],
        ["person", P1, HEAD, "", "3000000", "750000", "2010-01-01"],  # 3M of 10M: 0.3
        ["enterprise", HEAD, OTHER, "60", "600000", "", "2012-01-01"],  # given: not derived
        ["enterprise", OTHER, SUPPLIER, "", "500000", "", "2013-01-01"],  # capital unknown
        ["enterprise", HEAD, SMALL, "", "150000", "150000", "2020-01-01"],  # 1.5 > 1: capped
    ],
    "guarantees": [
        ["contract_no", "guarantor_id", "guaranteed_id", "amount", "valid_from", "valid_to"],
        ["", HEAD, OTHER, "2000000", "2024-01-01", ""],  # no contract number
        ["", HEAD, OTHER, "", "2024-03-01", ""],  # neither contract number nor amount
        ["", OTHER, HEAD, "500000", "", ""],  # no contract number, no start
        ["BZ-1", SMALL, OTHER, "", "2024-01-01", ""],  # amount unknown
    ],
    "lawsuits": [
        ["record_no", "enterprise_id", "start", "role", "cause", "amount", "authority"],
        [CASE, OTHER, "2025-03-01", "defendant", "买卖合同纠纷", "800000", "海曙区人民法院"],
        [CASE, SUPPLIER, "2025-03-01", "plaintiff", "买卖合同纠纷", "800000", "海曙区人民法院"],
        ["（2025）浙0203民初7号", OTHER, "2025-05-01", "defendant", "借款合同纠纷", "", ""],
    ],
    "enforcements": [
        ["record_no", "enterprise_id", "start", "end", "amount", "authority"],
        ["（2025）浙0203执55号", OTHER, "2025-04-01", "", "820000", "海曙区人民法院"],
    ],
    "dishonest_debtors": [
        ["record_no", "enterprise_id", "start", "amount", "authority"],
        ["（2025）浙0203执56号", OTHER, "2025-05-01", "820000", "海曙区人民法院"],
    ],
    "tax_violations": [
        ["record_no", "enterprise_id", "start", "reason", "authority", "amount"],
        ["甬税稽〔2024〕9号", SUPPLIER, "2024-09-01", "虚开增值税专用发票", "宁波市税务局",
         "120000"],
    ],
    "status_events": [
        ["record_no", "enterprise_id", "start", "event", "authority", "reason"],
        ["（2025）浙02破申3号", SMALL, "2025-06-01", "bankruptcy", "宁波市中级人民法院", ""],
        ["甬市监吊〔2025〕1号", SUPPLIER, "2025-02-01", "revocation", "宁波市市场监督管理局",
         "连续六个月未开业"],
    ],
}
# fmt: on


def csv_text(rows: Rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def folder_of(write_files: WriteFiles, name: str, files: dict[str, Rows]) -> Path:
    return write_files(name, {f"{t}.csv": csv_text(rows) for t, rows in files.items()})


def load(store: LadybugStore, folder: Path, strict: bool = False) -> LoadSummary:
    return load_folder(
        store,
        folder,
        salt=SALT,
        rejects_dir=folder.parent / "rejects",
        strict=strict,
        today=date(2025, 7, 1),
    )


def holdings_into(store: LadybugStore, target: str) -> dict[str, dict]:
    items = store.neighbours(target, ("HOLDS_SHARES",), direction="in").items
    return {n.edge.source: n.edge.properties for n in items}


def test_every_new_kind_loads_and_shows_in_a_snapshot(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    summary = load(store, folder_of(write_files, "real", FILES))
    assert summary.rejected == 0, summary.rejects
    counts = store.counts()
    assert counts.relations["HAS_BRANCH"] == 1
    assert counts.relations["GUARANTEES"] == 4
    for kind, n in (
        ("lawsuit", 3),
        ("enforcement", 1),
        ("dishonest_debtor", 1),
        ("tax_violation", 1),
        ("status_event", 2),
    ):
        assert counts.records[kind] == n, kind

    head = store.get_entity(HEAD)
    assert head is not None and head.properties["paid_in_capital"] == 2_500_000.0

    snap = take_snapshot(store, AS_OF)
    branches = snap.relations["HAS_BRANCH"]
    head_i, branch_i = snap.index_of([HEAD, BRANCH])
    assert branches.indices[branches.indptr[head_i] : branches.indptr[head_i + 1]].tolist() == [
        branch_i
    ]
    records = {r["id"]: r for r in snap.records.to_pylist()}
    suit = records[f"lawsuit:{CASE}|{OTHER}"]
    assert (suit["role"], suit["cause"], suit["amount"]) == ("defendant", "买卖合同纠纷", 8e5)
    assert records[f"lawsuit:{CASE}|{SUPPLIER}"]["role"] == "plaintiff"  # one case, two parties
    assert records[f"enforcement:（2025）浙0203执55号|{OTHER}"]["amount"] == 820000.0
    assert records["tax_violation:甬税稽〔2024〕9号"]["reason"] == "虚开增值税专用发票"
    assert records["status_event:（2025）浙02破申3号"]["event"] == "bankruptcy"
    assert snap.enterprises["paid_in_capital"].to_pylist()[head_i] == 2_500_000.0

    features = compute_features(snap)
    row = snap.index_of([OTHER])[0]
    assert features.column("lawsuits_defendant_12m")[row] == 2
    assert features.column("enforcement_active")[row] == 1
    assert features.column("branches")[head_i] == 1
    assert features.column("paid_in_ratio")[head_i] == pytest.approx(0.25)


def test_stakes_are_derived_from_subscribed_amounts_and_flagged(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    summary = load(store, folder_of(write_files, "real", FILES))
    person = holdings_into(store, HEAD)
    (held,) = person.values()
    assert held["share"] == pytest.approx(0.3) and held["share_derived"] is True
    assert held["paid_in_amount"] == 750000.0
    given = holdings_into(store, OTHER)[HEAD]
    assert given["share"] == pytest.approx(0.6) and given["share_derived"] is False
    unknown = holdings_into(store, SUPPLIER)[OTHER]  # the target's capital is unknown
    assert unknown["share"] is None and unknown["share_derived"] is False
    capped = holdings_into(store, SMALL)[HEAD]
    assert capped["share"] == 1.0 and capped["share_derived"] is True
    (warning,) = [w for w in summary.warnings if w.field == "share"]
    assert (warning.file, warning.line, warning.value) == (
        "shareholdings.csv",
        5,
        "150000 / 100000 = 1.5",
    )
    assert "above 1" in warning.reason

    # A later load of holdings alone takes the capital the store holds.
    later = [
        ["holder_type", "holder_id", "enterprise_id", "subscribed_amount", "share_derived"],
        ["enterprise", SMALL, OTHER, "250000", "false"],
    ]
    again = load(store, folder_of(write_files, "later", {"shareholdings": later}), strict=True)
    assert again.tables[0].ignored_columns == ("share_derived",)  # set by the loader only
    derived = holdings_into(store, OTHER)[SMALL]
    assert derived["share"] == pytest.approx(0.25) and derived["share_derived"] is True


def test_guarantees_without_contract_number_amount_or_start(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    folder = folder_of(write_files, "real", FILES)
    load(store, folder, strict=True)
    given = {
        (n.edge.properties["valid_from"], n.edge.properties["amount"]): n.edge.properties
        for n in store.neighbours(HEAD, ("GUARANTEES",), direction="out").items
    }
    assert set(given) == {(date(2024, 1, 1), 2e6), (date(2024, 3, 1), None)}
    assert all(p["contract_no"] is None for p in given.values())
    assert given[(date(2024, 3, 1), None)]["key"] == f"{HEAD}|{OTHER}|~2024-03-01~~CNY"
    (unknown,) = store.neighbours(SMALL, ("GUARANTEES",), direction="out").items
    assert unknown.edge.properties["amount"] is None  # unknown, not 0

    # The stand-in key is stable: loading the same rows again changes nothing.
    before = graph_state(store)
    load(store, folder, strict=True)
    assert graph_state(store) == before

    # Two rows that agree on parties, start, amount and currency are one guarantee.
    twice = [
        FILES["guarantees"][0],
        ["", SMALL, HEAD, "1000", "2024-02-01", ""],
        ["", SMALL, HEAD, "1000.00", "2024/2/1", ""],
    ]
    summary = load(store, folder_of(write_files, "twice", {"guarantees": twice}))
    assert [(r.line, r.reason) for r in summary.rejects] == [(3, "duplicate key")]


def test_unknown_guarantee_amount_is_unknown_in_features(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, folder_of(write_files, "real", FILES), strict=True)
    snap = take_snapshot(store, AS_OF)
    features = compute_features(snap)
    small, head = snap.index_of([SMALL, HEAD])
    assert features.column("guarantees_given")[small] == 1
    # SMALL guarantees an unknown amount: the ratio is unknown, not 0.
    assert str(features.column("guaranteed_amount_to_capital")[small]) == "nan"
    # HEAD gives one guarantee of 2M and one of an unknown amount.
    assert str(features.column("guaranteed_amount_to_capital")[head]) == "nan"


def test_co_debtors_of_one_case_are_each_listed_under_its_case_number(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    # The 失信被执行人 list gives one entry per debtor; a firm and its co-debtor in one
    # enforcement case share the case number, as their 被执行人 entries do.
    case = "（2025）浙0203执56号"
    rows = {
        "enforcements": [
            ["record_no", "enterprise_id", "start", "amount"],
            [case, OTHER, "2025-04-01", "820000"],
            [case, SUPPLIER, "2025-04-01", "820000"],
        ],
        "dishonest_debtors": [
            ["record_no", "enterprise_id", "start", "authority"],
            [case, OTHER, "2025-05-01", "海曙区人民法院"],
            [case, SUPPLIER, "2025-05-01", "海曙区人民法院"],
            [case, SUPPLIER, "2025/5/1", "海曙区人民法院"],  # the same entry twice
        ],
    }
    load(store, folder_of(write_files, "real", {"enterprises": FILES["enterprises"]}))
    summary = load(store, folder_of(write_files, "co", rows))
    assert [(r.file, r.line, r.reason) for r in summary.rejects] == [
        ("dishonest_debtors.csv", 4, "duplicate key")
    ]
    assert store.counts().records["dishonest_debtor"] == 2
    listed = {
        r["enterprise_id"]
        for r in take_snapshot(store, AS_OF).records.to_pylist()
        if r["kind"] == "dishonest_debtor"
    }
    assert listed == {OTHER, SUPPLIER}
