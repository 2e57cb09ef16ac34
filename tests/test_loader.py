"""The loader against a real LadybugDB store: a tiny city, updates, strictness, rejects."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SALT, graph_state, make_resident_id, make_uscc

from graph_model.domain import load_domain
from graph_model.identifiers import (
    USCC_ALPHABET,
    mask_id_number,
    person_key,
    person_name_key,
    person_source_key,
)
from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import load_folder
from loaders.summary import TABLE_LOSS_WARNING, LoadRefused, LoadSummary, TableResult

WriteFiles = Callable[[str, dict[str, str | bytes]], Path]

E1, E2, E3, E4 = (make_uscc(i) for i in range(1, 5))
REG = "REG:330200000012345"
HK = "FOREIGN:HK:1234567"
P1, P2 = make_resident_id(1), make_resident_id(2)
# A resident ID whose check character is X, written with a lower-case x in persons.csv.
P3 = next(n for n in (make_resident_id(i) for i in range(3, 1000)) if n.endswith("X"))

Rows = list[list[str]]


def with_wrong_check(code: str) -> str:
    """The code with its check character replaced by the next one of the alphabet."""
    return code[:17] + USCC_ALPHABET[(USCC_ALPHABET.index(code[17]) + 1) % 31]


BAD = with_wrong_check(make_uscc(9))

# fmt: off
CITY: dict[str, Rows] = {
    "enterprises": [
        ["id", "name", "region_code", "industry", "registered_capital", "established_on",
         "status", "address", "phone", "email"],
        [E1, "宁波甲贸易有限公司", "330200", "F", "1000000", "2010-03-01", "active",
         "浙江省宁波市 海曙区\n中山西路１号", "0574-8765 4321", "Info@Jia.CN"],
        [E2, "宁波乙制造有限公司", "330200", "C", "5000000", "2012-05-05", "", "", "", ""],
        [E3, "宁波丙科技有限公司", "330200", "I", "", "2015-01-01", "suspended", "",
         "13800000000", ""],
        [E4, "宁波丁物流有限公司", "330200", "G", "200000", "2018-01-01", "active", "", "", ""],
        [REG, "宁波老字号商行", "330200", "F", "", "1998-06-01", "active", "", "", ""],
        [HK, "香港某控股有限公司", "", "", "", "", "", "", "", ""],
    ],
    "persons": [
        ["id_number", "name"],
        [P1, "张三"],
        [P2, "李四"],
        [P3.lower(), "王五"],
    ],
    "legal_reps": [
        ["person_id_number", "enterprise_id", "valid_from", "valid_to"],
        [P1, E1, "2010-03-01", ""],
        [P2, E2, "2012-05-05", ""],
        [P1, E3, "2015-01-01", "2019-12-31"],
    ],
    "officers": [
        ["person_id_number", "enterprise_id", "role", "valid_from", "valid_to"],
        [P2, E1, "director", "2010-03-01", ""],
        [P3, E1, "supervisor", "", ""],
    ],
    "shareholdings": [
        ["holder_type", "holder_id", "enterprise_id", "share", "subscribed_amount",
         "valid_from", "valid_to"],
        ["person", P1, E1, "0.6", "600000", "2010-03-01", ""],
        ["person", P2, E1, "0.4", "400000", "2010-03-01", ""],
        ["enterprise", E1, E2, "0.51", "", "2012-05-05", ""],
        ["enterprise", HK, E2, "0.49", "", "2012-05-05", ""],
        ["enterprise", E2, E3, "1", "", "2015-01-01", ""],
    ],
    "guarantees": [
        ["contract_no", "guarantor_id", "guaranteed_id", "amount", "currency", "valid_from",
         "valid_to", "defaulted_on"],
        ["G-2020-001", E1, E2, "1000000", "CNY", "2020-01-01", "2023-12-31", ""],
        ["G-2020-002", E2, E1, "800000", "", "2020-01-01", "", ""],
        ["G-2021-001", E3, E4, "200000", "USD", "2021-06-01", "2022-06-01", "2022-03-15"],
    ],
    "penalties": [
        ["record_no", "enterprise_id", "start", "end", "authority", "amount", "severity", "sector"],
        ["甬市监罚〔2021〕12号", E3, "2021-04-01", "2021-07-01", "宁波市市场监督管理局", "50000",
         "minor", ""],
    ],
    "abnormal_list": [
        ["record_no", "enterprise_id", "start", "end", "reason", "authority"],
        ["AB-2022-7", E4, "2022-07-01", "", "no_annual_report", "鄞州区市场监督管理局"],
    ],
}
# fmt: on


def csv_text(rows: Rows) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return out.getvalue()


def city_csv(write_files: WriteFiles, name: str = "city") -> Path:
    return write_files(name, {f"{t}.csv": csv_text(rows) for t, rows in CITY.items()})


def _parquet_table(table: str, rows: Rows) -> pa.Table:
    """Typed columns, as a real Parquet export would have them (dates, floats)."""
    domain = load_domain()
    spec = next(s for s in (*domain.nodes, *domain.relations, *domain.records) if s.file == table)
    types = {f.name: f.type for f in spec.fields}
    head, body = rows[0], rows[1:]
    columns = {}
    for i, name in enumerate(head):
        values = [r[i] or None for r in body]
        kind = types.get(name, "float" if name == "share_percent" else "string")
        if kind == "date":
            columns[name] = pa.array(
                [date.fromisoformat(v) if v else None for v in values], pa.date32()
            )
        elif kind == "float":
            columns[name] = pa.array([float(v) if v else None for v in values], pa.float64())
        else:
            columns[name] = pa.array(values, pa.string())
    return pa.table(columns)


def load(
    store: LadybugStore, folder: Path, *, strict: bool = False, batch_rows: int = 500_000
) -> LoadSummary:
    return load_folder(
        store,
        folder,
        salt=SALT,
        rejects_dir=folder.parent / "rejects",
        strict=strict,
        batch_rows=batch_rows,
    )


def reject_rows(summary: LoadSummary) -> list[tuple[str, int, str, str]]:
    return [(r.file, r.line, r.field, r.value) for r in summary.rejects]


# -- a tiny city ------------------------------------------------------------------


def test_tiny_city_loads(store: LadybugStore, write_files: WriteFiles) -> None:
    summary = load(store, city_csv(write_files), strict=True)
    assert summary.written and summary.rejected == 0
    assert summary.accepted == sum(len(rows) - 1 for rows in CITY.values())
    counts = store.counts()
    assert counts.nodes == {"Enterprise": 6, "Person": 3}
    assert counts.relations == {
        "LEGAL_REP": 3,
        "OFFICER": 2,
        "HOLDS_SHARES": 5,
        "GUARANTEES": 3,
        "HAS_BRANCH": 0,
    }
    assert counts.records["penalty"] == 1 and counts.records["abnormal_list"] == 1
    assert sum(counts.records.values()) == 2

    e1 = store.get_entity(E1)
    assert e1 is not None
    props = e1.properties
    assert props["established_on"] == date(2010, 3, 1)
    assert props["registered_capital"] == 1_000_000.0
    assert props["address"] == "浙江省宁波市海曙区中山西路1号"  # spaces, newline, full width folded
    assert props["phone"] == "057487654321"
    assert props["email"] == "info@jia.cn"
    e2 = store.get_entity(E2)
    assert e2 is not None and e2.properties["status"] == "active"  # the default
    e3 = store.get_entity(E3)
    assert e3 is not None and e3.properties["status"] == "suspended"
    assert [r["record_no"] for r in e3.records] == ["甬市监罚〔2021〕12号"]
    assert e3.records[0]["sector"] == "general"  # the default


def test_persons_are_keyed_by_salted_hash(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, city_csv(write_files))
    for number, name in ((P1, "张三"), (P3, "王五")):
        person = store.get_entity(person_key(number, SALT))
        assert person is not None and person.label == "Person"
        assert person.properties == {
            "id": person_key(number, SALT),
            "name": name,
            "source_id": None,
            "identity": "id_number",
            "scope": None,
        }
    assert store.get_entity(person_key(P1, "another-salt")) is None
    # P3 was written with a lower-case x in persons.csv and an upper-case X in officers.csv.
    officers = store.neighbours(person_key(P3, SALT), ("OFFICER",)).items
    assert [(n.node.id, n.edge.properties["role"]) for n in officers] == [(E1, "supervisor")]


def test_raw_id_numbers_never_reach_the_database_file(
    tmp_path: Path, write_files: WriteFiles
) -> None:
    with LadybugStore(tmp_path / "private") as s:
        load(s, city_csv(write_files))
    blob = b"".join(p.read_bytes() for p in tmp_path.glob("private*") if p.is_file())
    # Control: stored values are readable in the file, so the search would find an ID number.
    assert E1.encode() in blob and "宁波甲贸易有限公司".encode() in blob
    for number in (P1, P2, P3, P3.lower()):
        assert number.encode() not in blob


def test_loading_twice_is_idempotent(store: LadybugStore, write_files: WriteFiles) -> None:
    folder = city_csv(write_files)
    load(store, folder)
    first = graph_state(store)
    summary = load(store, folder)
    assert summary.rejected == 0
    assert graph_state(store) == first


def test_later_batch_closes_a_holding(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, city_csv(write_files))
    before = store.counts().relations["HOLDS_SHARES"]
    closing = [
        CITY["shareholdings"][0],
        ["person", P1, E1, "0.6", "600000", "2010-03-01", "2023-06-30"],
    ]
    load(store, write_files("later", {"shareholdings.csv": csv_text(closing)}), strict=True)

    assert store.counts().relations["HOLDS_SHARES"] == before  # updated, not added
    holder = person_key(P1, SALT)
    [edge] = [n.edge for n in store.neighbours(holder, ("HOLDS_SHARES",)).items]
    assert edge.properties["valid_to"] == date(2023, 6, 30)
    assert edge.properties["share"] == pytest.approx(0.6)

    def holds(as_of: date) -> bool:
        snap = take_snapshot(store, as_of)
        rel = snap.relations["HOLDS_SHARES"]
        src, dst = snap.index_of([holder, E1])
        return bool(dst in rel.indices[rel.indptr[src] : rel.indptr[src + 1]])

    assert holds(date(2023, 6, 29))
    assert not holds(date(2023, 6, 30))
    owners = {p.end.id for p in store.ownership(E1, "up", max_depth=1, as_of=date(2024, 1, 1))}
    assert owners == {person_key(P2, SALT)}


def test_share_percent_is_scaled_to_a_fraction(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    rows = [
        ["holder_type", "holder_id", "enterprise_id", "share_percent"],
        ["enterprise", E1, E4, "51.5"],
        ["enterprise", REG, E4, ""],
    ]
    summary = load(store, write_files("pct", {"shareholdings.csv": csv_text(rows)}), strict=True)
    assert summary.accepted == 2
    shares = {
        n.edge.source: n.edge.properties["share"]
        for n in store.neighbours(E4, ("HOLDS_SHARES",), direction="in").items
    }
    assert shares[E1] == pytest.approx(0.515)
    assert shares[REG] is None  # unknown stays unknown, not 0


def test_csv_and_parquet_give_the_same_store(tmp_path: Path, write_files: WriteFiles) -> None:
    csv_folder = city_csv(write_files)
    parquet_folder = tmp_path / "parquet"
    parquet_folder.mkdir()
    for table, rows in CITY.items():
        pq.write_table(_parquet_table(table, rows), parquet_folder / f"{table}.parquet")
    with LadybugStore(tmp_path / "a") as a, LadybugStore(tmp_path / "b") as b:
        load(a, csv_folder, strict=True)
        load(b, parquet_folder, strict=True)
        state = graph_state(a)
        assert state["counts"].nodes["Enterprise"] == 6
        assert graph_state(b) == state


def test_partial_update_keeps_columns_it_does_not_have(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    before = graph_state(store)
    e5 = make_uscc(5)
    update = [["id", "name"], [E3, "宁波丙新科技有限公司"], [e5, "新设公司"]]
    load(store, write_files("update", {"enterprises.csv": csv_text(update)}), strict=True)

    e3 = store.get_entity(E3)
    assert e3 is not None
    expected = dict(before["entities"][E3].properties, name="宁波丙新科技有限公司")
    # phone has no column in the file; status has none either and must not fall back to
    # its default "active": the enterprise stays suspended.
    assert e3.properties == expected
    assert e3.properties["phone"] == "13800000000" and e3.properties["status"] == "suspended"
    new = store.get_entity(e5)
    assert new is not None and new.properties["status"] == "active"  # default for new rows
    untouched = graph_state(store)["entities"]
    assert {k: v for k, v in untouched.items() if k not in (E3, e5)} == {
        k: v for k, v in before["entities"].items() if k != E3
    }


def test_partial_update_of_relations_keeps_defaulted_columns(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    # No currency column: the stored USD must stay, the new guarantee gets CNY.
    rows = [
        ["contract_no", "guarantor_id", "guaranteed_id", "amount", "valid_from"],
        ["G-2021-001", E3, E4, "250000", "2021-06-01"],
        ["G-2024-001", E4, E3, "10000", "2024-01-01"],
    ]
    load(store, write_files("g", {"guarantees.csv": csv_text(rows)}), strict=True)
    edges = {
        n.edge.properties["contract_no"]: n.edge.properties
        for n in store.neighbours(E4, ("GUARANTEES",)).items
    }
    assert edges["G-2021-001"]["amount"] == 250000.0
    assert edges["G-2021-001"]["currency"] == "USD"
    assert edges["G-2024-001"]["currency"] == "CNY"


# -- strictness and rejects ------------------------------------------------------------


def _mixed_batch(write_files: WriteFiles) -> Path:
    rows = [
        ["id", "name", "phone"],
        [E1, "宁波甲贸易集团有限公司", "0574-1111 2222"],  # an update of a stored enterprise
        [make_uscc(6), "新公司", ""],
        [BAD, "校验位错误公司", ""],
    ]
    return write_files("mixed", {"enterprises.csv": csv_text(rows)})


def test_strict_refuses_one_bad_row_and_leaves_store_unchanged(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    before = graph_state(store)
    with pytest.raises(LoadRefused) as refused:
        load(store, _mixed_batch(write_files), strict=True)
    assert "nothing written" in str(refused.value)
    assert refused.value.summary is not None
    assert [(r.file, r.line, r.field) for r in refused.value.summary.rejects] == [
        ("enterprises.csv", 4, "id")
    ]
    assert graph_state(store) == before


def test_non_strict_writes_good_rows_and_a_reject_file(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    folder = _mixed_batch(write_files)
    summary = load(store, folder)
    assert summary.written
    table = summary.tables[0]
    assert (table.read, table.accepted, table.rejected) == (3, 2, 1)
    e1 = store.get_entity(E1)
    assert e1 is not None and e1.properties["name"] == "宁波甲贸易集团有限公司"
    assert e1.properties["phone"] == "057411112222"
    assert store.get_entity(make_uscc(6)) is not None
    assert store.counts().nodes["Enterprise"] == 7

    assert summary.rejects_file is not None
    assert summary.rejects_file.parent == folder.parent / "rejects"
    with summary.rejects_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    [row] = rows
    assert list(row) == ["file", "line", "field", "value", "reason"]
    assert row["file"] == "enterprises.csv" and row["line"] == "4" and row["field"] == "id"
    assert row["value"] == BAD
    assert "USCC" in row["reason"] and "check character" in row["reason"]


def test_references_to_stored_enterprises_resolve(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    rows = [
        ["holder_type", "holder_id", "enterprise_id", "share"],
        ["enterprise", E4, REG, "0.3"],
        ["person", P2, E4, "0.2"],
    ]
    summary = load(store, write_files("refs", {"shareholdings.csv": csv_text(rows)}), strict=True)
    assert summary.accepted == 2
    assert store.counts().relations["HOLDS_SHARES"] == 7
    owners = {n.node.id for n in store.neighbours(E4, ("HOLDS_SHARES",), direction="in").items}
    assert owners == {person_key(P2, SALT)}


def test_dangling_references_are_rejected(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, city_csv(write_files))
    before = graph_state(store)
    unknown_firm, unknown_person = make_uscc(99), make_resident_id(99)
    files = {
        "shareholdings.csv": csv_text(
            [
                ["holder_type", "holder_id", "enterprise_id", "share"],
                ["enterprise", E1, unknown_firm, "0.3"],
                ["person", unknown_person, E1, "0.1"],
            ]
        ),
        "guarantees.csv": csv_text(
            [
                ["contract_no", "guarantor_id", "guaranteed_id", "amount", "valid_from"],
                ["G-X", unknown_firm, E1, "1", "2024-01-01"],
            ]
        ),
    }
    summary = load(store, write_files("dangling", files))
    assert sorted((r.file, r.line, r.field, r.value, r.reason) for r in summary.rejects) == [
        (
            "guarantees.csv",
            2,
            "guarantor_id",
            unknown_firm,
            "no such enterprise in this load or in the store",
        ),
        (
            "shareholdings.csv",
            2,
            "enterprise_id",
            unknown_firm,
            "no such enterprise in this load or in the store",
        ),
        (
            "shareholdings.csv",
            3,
            "holder_id",
            mask_id_number(unknown_person),
            "no such person in this load or in the store",
        ),
    ]
    assert graph_state(store) == before


def test_rejected_node_rows_do_not_resolve_references(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    e8 = make_uscc(8)
    files = {
        "enterprises.csv": csv_text([["id", "name", "status"], [e8, "某公司", "closed"]]),
        "shareholdings.csv": csv_text(
            [["holder_type", "holder_id", "enterprise_id", "share"], ["enterprise", e8, e8, "1"]]
        ),
    }
    summary = load(store, write_files("cascade", files))
    # The holding is rejected with the firm it names twice, and counted once on its line.
    [firm] = summary.rejects
    assert (firm.file, firm.line, firm.field, firm.value) == (
        "enterprises.csv",
        2,
        "status",
        "closed",
    )
    assert firm.reason.endswith("; and 1 row that names it (shareholdings.csv 1), rejected with it")
    [_, holdings] = summary.tables
    assert (holdings.rejected, holdings.dependent, holdings.depends_on) == (
        1,
        1,
        ("enterprises.csv",),
    )
    assert store.counts().nodes["Enterprise"] == 0


def test_each_rejected_row_is_one_line_and_its_dependents_are_counted_under_it(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    """A real export without ID numbers: the persons are rejected, and every row naming them
    is counted on the person's line, not listed again (it was twice: a bad ID number and
    'no such person')."""
    load(store, city_csv(write_files))
    bad_person, e5 = "330203198001010090", make_uscc(5)  # a wrong check character
    files = {
        "enterprises.csv": csv_text([["id", "name"], [BAD, "校验位错误公司"], [e5, "新公司"]]),
        "persons.csv": csv_text([["id_number", "name"], [bad_person, "赵六"], [P1, "张三"]]),
        "officers.csv": csv_text(
            [
                ["person_id_number", "enterprise_id", "role"],
                [bad_person, E1, "director"],
                [bad_person, e5, "manager"],
                [bad_person, BAD, "supervisor"],  # names two rejected rows
                [P1, BAD, "chairman"],  # its own fault (role) besides the firm it names
            ]
        ),
        "legal_reps.csv": csv_text([["person_id_number", "enterprise_id"], [bad_person, e5]]),
        "penalties.csv": csv_text(
            [
                ["record_no", "enterprise_id", "start", "authority", "severity"],
                ["罚-1", BAD, "2021-01-01", "局", "minor"],
            ]
        ),
    }
    summary = load(store, write_files("no-ids", files))
    assert [(r.file, r.line, r.field, r.value) for r in summary.rejects] == [
        ("enterprises.csv", 2, "id", BAD),
        ("persons.csv", 2, "id_number", mask_id_number(bad_person)),
        ("officers.csv", 5, "role", "chairman"),
    ]
    firm, person, officer = (r.reason for r in summary.rejects)
    assert firm.startswith("not a valid USCC (check character)")
    assert firm.endswith(
        "; and 3 rows that name it (officers.csv 2, penalties.csv 1), rejected with it"
    )
    assert person.startswith("not a valid ID number (check character)")
    assert person.endswith(
        "; and 4 rows that name it (legal_reps.csv 1, officers.csv 3), rejected with it"
    )
    assert officer == (
        "not one of director, supervisor, manager; also names enterprises.csv line 2, which "
        "was rejected"
    )
    # Every row is counted once: 1 + 1 + 4 + 1 + 1 rejected, 3 of them only as dependents.
    by_file = {t.file: t for t in summary.tables}
    assert summary.rejected == 8
    assert (by_file["officers.csv"].rejected, by_file["officers.csv"].dependent) == (4, 3)
    assert by_file["officers.csv"].depends_on == ("enterprises.csv", "persons.csv")
    assert (by_file["penalties.csv"].dependent, by_file["legal_reps.csv"].dependent) == (1, 1)
    assert store.get_entity(e5) is not None  # the good rows of each file loaded


# -- optional fields --------------------------------------------------------------------


def test_a_bad_optional_value_is_emptied_with_a_warning_and_the_row_loads(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    e5, e6 = make_uscc(5), make_uscc(6)
    files = {
        "enterprises.csv": csv_text(
            [
                ["id", "name", "registered_capital", "established_on", "status", "email"],
                [e5, "甲", "一百万", "2021-02-30", "active", "a@b.cn"],
                [e6, "乙", "-5", "2099-01-01", "closed", ""],  # a bad status is not 'active'
            ]
        ),
        "guarantees.csv": csv_text(
            [
                ["contract_no", "guarantor_id", "guaranteed_id", "amount", "valid_from"],
                ["G-1", e5, E1, "1,000,000", "2024-01-01"],
                # No contract number: the amount is part of the key, so a bad one rejects.
                ["", e5, E1, "1,000,000", "2024-01-01"],
            ]
        ),
        "shareholdings.csv": csv_text(
            [["holder_type", "holder_id", "enterprise_id", "share"], ["enterprise", e5, E1, "1.5"]]
        ),
    }
    load(store, city_csv(write_files))
    summary = load(store, write_files("optional", files))
    warned = [(w.file, w.line, w.field, w.value, w.reason) for w in summary.warnings]
    assert warned == [
        ("enterprises.csv", 2, "established_on", "2021-02-30", warned[0][4]),
        ("enterprises.csv", 2, "registered_capital", "一百万", "not a number; loaded without it"),
        ("shareholdings.csv", 2, "share", "1.5", "must be ≤ 1; loaded without it"),
        ("guarantees.csv", 2, "amount", "1,000,000", "not a number; loaded without it"),
    ]
    assert warned[0][4].startswith("not a date") and warned[0][4].endswith("; loaded without it")
    assert [(r.file, r.line, r.field) for r in summary.rejects] == [
        ("enterprises.csv", 3, "status"),
        ("guarantees.csv", 3, "amount"),
    ]
    # e6's future date and negative capital are told on its reject line: it did not load.
    assert summary.rejects[0].reason.startswith("not one of active")
    assert "; also established_on = '2099-01-01': in the future" in summary.rejects[0].reason
    assert "; also registered_capital = '-5': must be ≥ 0" in summary.rejects[0].reason
    firm = store.get_entity(e5)
    assert firm is not None
    assert firm.properties["registered_capital"] is None
    assert firm.properties["established_on"] is None
    assert firm.properties["email"] == "a@b.cn"
    [guarantee] = [n.edge for n in store.neighbours(e5, ("GUARANTEES",)).items]
    assert (guarantee.properties["contract_no"], guarantee.properties["amount"]) == ("G-1", None)
    [holding] = [n.edge for n in store.neighbours(e5, ("HOLDS_SHARES",)).items]
    assert holding.properties["share"] is None


def test_enum_words_as_exports_write_them_are_read_as_the_contract_values(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    """存续, 吊销，未注销, 董事长, 自然人, 被告… are read as active, revoked, director, person,
    defendant; a word the domain does not list (执行董事兼总经理) still rejects its row."""
    e5, e6 = make_uscc(5), make_uscc(6)
    files = {
        "enterprises.csv": csv_text(
            [["id", "name", "status"], [e5, "甲", "存续"], [e6, "乙", "吊销，未注销"]]
        ),
        "officers.csv": csv_text(
            [
                ["person_name", "enterprise_id", "role"],
                ["张三", e5, "董事长"],
                ["李四", e5, "职工监事"],
                ["王五", e6, "执行董事兼总经理"],
            ]
        ),
        "shareholdings.csv": csv_text(
            [
                ["holder_type", "holder_id", "holder_name", "enterprise_id", "share"],
                ["自然人", "", "张三", e5, "0.6"],
                ["企业法人", e6, "", e5, "0.4"],
            ]
        ),
        "lawsuits.csv": csv_text(
            [
                ["record_no", "enterprise_id", "start", "role"],
                ["(2024)浙0203民初1号", e6, "2024-03-01", "被告"],
            ]
        ),
    }
    summary = load(store, write_files("words", files))
    assert [(r.file, r.line, r.field) for r in summary.rejects] == [("officers.csv", 4, "role")]
    assert summary.rejects[0].reason.startswith("not one of director")
    statuses = {e: store.get_entity(e).properties["status"] for e in (e5, e6)}  # type: ignore[union-attr]
    assert statuses == {e5: "active", e6: "revoked"}
    roles = {n.edge.properties["role"] for n in store.neighbours(e5, ("OFFICER",)).items}
    assert roles == {"director", "supervisor"}
    holders = {n.node.label for n in store.neighbours(e5, ("HOLDS_SHARES",), "in").items}
    assert holders == {"Person", "Enterprise"}
    entity = store.get_entity(e6)
    assert entity is not None and [r["role"] for r in entity.records] == ["defendant"]


# -- when a load is refused ------------------------------------------------------------


def test_a_reject_share_above_the_maximum_refuses_the_load(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, city_csv(write_files))
    before = graph_state(store)
    folder = _mixed_batch(write_files)  # 1 of 3 rows rejected
    with pytest.raises(LoadRefused) as refused:
        load_folder(store, folder, salt=SALT, rejects_dir=folder.parent / "r", max_reject_rate=0.3)
    assert "1 of 3 rows (33.3%) were rejected, more than the 30% --max-reject-rate" in str(
        refused.value
    )
    assert graph_state(store) == before
    summary = load_folder(
        store, folder, salt=SALT, rejects_dir=folder.parent / "r", max_reject_rate=0.34
    )
    assert summary.written and summary.rejected == 1


def test_a_file_whose_rows_all_fail_refuses_the_load_below_rate_one(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    files = {
        "enterprises.csv": csv_text(
            [["id", "name"], *([make_uscc(i), "甲"] for i in range(5, 25))]
        ),
        "persons.csv": csv_text([["id_number", "name"], ["张三", "张三"]]),
    }
    folder = write_files("no-persons", files)
    with pytest.raises(LoadRefused) as refused:
        load_folder(store, folder, salt=SALT, rejects_dir=folder.parent / "r", max_reject_rate=0.5)
    assert "every row of persons.csv (1) was rejected" in str(refused.value)
    assert store.counts().nodes["Enterprise"] == 0
    summary = load_folder(store, folder, salt=SALT, rejects_dir=folder.parent / "r")
    assert summary.written and store.counts().nodes["Enterprise"] == 20
    assert [t.file for t in summary.shrunk()] == ["persons.csv"]


def test_tables_that_lost_more_than_a_few_percent_are_named() -> None:
    def table(name: str, read: int, accepted: int) -> TableResult:
        return TableResult(name, f"{name}.csv", read, accepted, read - accepted)

    summary = LoadSummary(
        (
            table("enterprises", 1000, 1000 - int(1000 * TABLE_LOSS_WARNING)),  # at the line
            table("persons", 100, 90),
            table("officers", 10, 0),
            table("penalties", 0, 0),
        ),
        (),
        None,
        (),
        True,
    )
    assert [t.file for t in summary.shrunk()] == ["persons.csv", "officers.csv"]


# -- where a reject is reported --------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "line"),
    [
        pytest.param(
            f'id,name,address\n{E1},a,"line one\nline two\n\nline four"\n{E2},b,x\n{BAD},c,y\n',
            7,
            id="quoted-multi-line-address",
        ),
        pytest.param(f"id,name\n\n{E1},a\n\n{BAD},c\n", 5, id="blank-lines"),
        pytest.param(
            f'id,name,address\r\n{E1},a,"x\r\ny"\r\n{BAD},c,z\r\n', 4, id="crlf-multi-line"
        ),
        pytest.param(f"\ufeffid,name\n{E1},a\n{BAD},c\n", 3, id="byte-order-mark"),
    ],
)
def test_reject_line_is_the_physical_line(
    store: LadybugStore, write_files: WriteFiles, text: str, line: int
) -> None:
    summary = load(store, write_files("lines", {"enterprises.csv": text}))
    assert reject_rows(summary) == [("enterprises.csv", line, "id", BAD)]
    assert store.counts().nodes["Enterprise"] == summary.accepted


def test_duplicate_key_names_the_physical_line_of_the_first(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    text = f'id,name,address\n{E1},a,"x\ny"\n{E2},b,z\n{E1},c,w\n'
    summary = load(store, write_files("dup-lines", {"enterprises.csv": text}))
    assert [(r.line, r.value, r.reason) for r in summary.rejects] == [
        (5, "same key as line 2", "duplicate key")
    ]


# -- tolerated shapes of input -----------------------------------------------------------


def test_header_names_are_trimmed(store: LadybugStore, write_files: WriteFiles) -> None:
    text = f"id , name ,phone\n{E1}, 甲 ,0574 1\n"
    summary = load(store, write_files("spaces", {"enterprises.csv": text}), strict=True)
    assert summary.accepted == 1
    e1 = store.get_entity(E1)
    assert e1 is not None and (e1.properties["name"], e1.properties["phone"]) == ("甲", "05741")


def test_optional_key_column_may_be_absent(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, city_csv(write_files))
    rows = [["holder_type", "holder_id", "enterprise_id", "share"], ["enterprise", E1, E4, "0.5"]]
    folder = write_files("no-valid-from", {"shareholdings.csv": csv_text(rows)})
    load(store, folder, strict=True)
    load(store, folder, strict=True)  # same key again: an update, not a second holding
    [edge] = [n.edge for n in store.neighbours(E4, ("HOLDS_SHARES",), direction="in").items]
    assert (edge.source, edge.properties["valid_from"]) == (E1, None)


def test_small_batches_give_the_same_store(tmp_path: Path, write_files: WriteFiles) -> None:
    folder = city_csv(write_files)
    with LadybugStore(tmp_path / "one") as one, LadybugStore(tmp_path / "many") as many:
        load(one, folder)
        load(many, folder, batch_rows=1)
        assert graph_state(many) == graph_state(one)


# -- people without ID numbers -------------------------------------------------------------

# fmt: off
REGISTRY: dict[str, Rows] = {
    "enterprises": [["id", "name"], [E1, "宁波甲贸易有限公司"], [E2, "宁波乙制造有限公司"]],
    "persons": [
        ["id_number", "source_id", "name"],
        ["", "SRC:qcc:p-001", "赵六"],
        ["", "SRC:qcc:P-002", "钱七"],  # a source id keeps its case
        [P1, "SRC:qcc:p-003", "张三"],  # both: keyed by the ID number, the source id kept
    ],
    "legal_reps": [
        ["person_id_number", "person_name", "enterprise_id", "valid_from"],
        ["SRC:qcc:p-001", "赵六", E1, "2015-01-01"],  # by source id; the name is not used
        ["", "王五", E2, "2016-01-01"],  # by name only, at E2
    ],
    "officers": [
        ["person_id_number", "person_name", "enterprise_id", "role"],
        ["SRC:qcc:p-003", "", E1, "director"],  # the source id of a person keyed by ID number
        ["", "王五", E1, "supervisor"],  # another 王五: named by E1
        ["", "wang  wu", E2, "manager"],
    ],
    "shareholdings": [
        ["holder_type", "holder_id", "holder_name", "enterprise_id", "share"],
        ["person", "SRC:qcc:P-002", "", E1, "0.3"],
        ["person", "", "王五", E1, "0.2"],  # E1's 王五, the supervisor
        ["person", "", "ＷＡＮＧ Wu", E2, "0.1"],  # E2's wang wu: width, case, spaces folded
        ["enterprise", E1, "", E2, "0.5"],
    ],
}
# fmt: on


def registry_csv(write_files: WriteFiles, name: str = "registry") -> Path:
    return write_files(name, {f"{t}.csv": csv_text(rows) for t, rows in REGISTRY.items()})


def test_people_by_source_id_and_by_name_all_load(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    summary = load(store, registry_csv(write_files), strict=True)
    assert summary.rejected == 0
    assert summary.accepted == sum(len(rows) - 1 for rows in REGISTRY.values())
    assert summary.persons_by_name == 3  # 王五 at E1, 王五 at E2, wang wu at E2
    counts = store.counts()
    assert counts.nodes["Person"] == 6
    assert counts.relations["LEGAL_REP"] == 2
    assert counts.relations["OFFICER"] == 3
    assert counts.relations["HOLDS_SHARES"] == 4

    def person(key: str) -> dict[str, object]:
        entity = store.get_entity(key)
        assert entity is not None and entity.label == "Person"
        return entity.properties

    zhao = person(person_source_key("SRC:qcc:p-001", SALT))
    assert (zhao["name"], zhao["identity"]) == ("赵六", "source_id")
    assert zhao["source_id"] == "SRC:qcc:p-001"
    qian = person(person_source_key("SRC:qcc:P-002", SALT))
    assert (qian["identity"], qian["source_id"]) == ("source_id", "SRC:qcc:P-002")
    zhang = person(person_key(P1, SALT))
    assert (zhang["identity"], zhang["source_id"]) == ("id_number", "SRC:qcc:p-003")
    # The officer row named the source id of a person keyed by their ID number: one person.
    roles = store.neighbours(person_key(P1, SALT), ("OFFICER",)).items
    assert [(n.node.id, n.edge.properties["role"]) for n in roles] == [(E1, "director")]
    assert store.get_entity(person_source_key("SRC:qcc:p-003", SALT)) is None

    wang_e1 = person(person_name_key(E1, "王五", SALT))
    assert (wang_e1["name"], wang_e1["identity"], wang_e1["scope"]) == ("王五", "name", E1)
    ties = store.neighbours(person_name_key(E1, "王五", SALT)).items
    assert sorted((n.edge.type, n.node.id) for n in ties) == [
        ("HOLDS_SHARES", E1),
        ("OFFICER", E1),
    ]
    # wang wu at E2 is one person under both spellings, and nobody at E1.
    wu = store.neighbours(person_name_key(E2, "wang wu", SALT)).items
    assert sorted((n.edge.type, n.node.id) for n in wu) == [("HOLDS_SHARES", E2), ("OFFICER", E2)]
    # Its name as the last row that named it spelt it (shareholdings load after officers).
    assert person(person_name_key(E2, "wang wu", SALT))["name"] == "ＷＡＮＧ Wu"


def test_one_name_at_two_firms_is_two_persons(store: LadybugStore, write_files: WriteFiles) -> None:
    load(store, registry_csv(write_files), strict=True)
    at_e1, at_e2 = person_name_key(E1, "王五", SALT), person_name_key(E2, "王五", SALT)
    assert at_e1 != at_e2
    firms = {key: {n.node.id for n in store.neighbours(key).items} for key in (at_e1, at_e2)}
    assert firms == {at_e1: {E1}, at_e2: {E2}}
    # A later load naming 王五 at E1 again finds the same person, not a third one.
    before = store.counts().nodes["Person"]
    rows = [["person_id_number", "person_name", "enterprise_id"], ["", " 王五 ", E1]]
    summary = load(store, write_files("again", {"legal_reps.csv": csv_text(rows)}), strict=True)
    assert summary.persons_by_name == 1
    assert store.counts().nodes["Person"] == before
    assert {n.edge.type for n in store.neighbours(at_e1).items} == {
        "LEGAL_REP",
        "OFFICER",
        "HOLDS_SHARES",
    }


def test_people_by_name_load_the_same_in_any_batches(
    tmp_path: Path, write_files: WriteFiles
) -> None:
    folder = registry_csv(write_files)
    with LadybugStore(tmp_path / "one") as one, LadybugStore(tmp_path / "many") as many:
        load(one, folder)
        load(many, folder, batch_rows=1)
        assert graph_state(many) == graph_state(one)
        state = graph_state(one)
        load(one, folder)  # again: idempotent
        assert graph_state(one) == state


def test_people_without_identity_are_rejected_with_reasons(
    store: LadybugStore, write_files: WriteFiles
) -> None:
    load(store, registry_csv(write_files), strict=True)
    before = store.counts().nodes["Person"]
    unknown_firm = make_uscc(99)
    files = {
        "persons.csv": csv_text(
            [
                ["id_number", "source_id", "name"],
                ["", "", "无名氏"],
                ["", "src:QCC:1", "坏来源"],
                ["", "SRC:qcc:p-9", "甲"],
                [P2, "SRC:qcc:p-9", "乙"],
            ]
        ),
        "legal_reps.csv": csv_text(
            [
                ["person_id_number", "person_name", "enterprise_id"],
                ["", "", E1],
                ["SRC:qcc:nobody", "某人", E1],
                ["", "孤儿", unknown_firm],
            ]
        ),
        "shareholdings.csv": csv_text(
            [
                ["holder_type", "holder_id", "holder_name", "enterprise_id", "share"],
                ["enterprise", "", "某公司", E1, "0.1"],
            ]
        ),
    }
    summary = load(store, write_files("bad-people", files))
    found = {(r.file, r.line, r.field, r.value): r.reason for r in summary.rejects}
    assert found.keys() == {
        ("persons.csv", 2, "id_number", ""),
        ("persons.csv", 3, "source_id", "src:QCC:1"),
        ("persons.csv", 5, "source_id", "same source_id as line 4"),
        ("legal_reps.csv", 2, "person_id_number", ""),
        ("legal_reps.csv", 3, "person_id_number", "SRC:qcc:nobody"),  # as given, not masked
        ("legal_reps.csv", 4, "enterprise_id", unknown_firm),
        ("shareholdings.csv", 2, "holder_id", ""),
    }
    assert "needs id_number or source_id" in found["persons.csv", 2, "id_number", ""]
    assert "not a person source id" in found["persons.csv", 3, "source_id", "src:QCC:1"]
    assert "give person_id_number" in found["legal_reps.csv", 2, "person_id_number", ""]
    assert "no such person" in found["legal_reps.csv", 3, "person_id_number", "SRC:qcc:nobody"]
    assert "enterprise holder needs holder_id" in found["shareholdings.csv", 2, "holder_id", ""]
    # The only good row: 甲 by source id. 孤儿's row was rejected, so no person was made.
    assert store.counts().nodes["Person"] == before + 1
    assert summary.persons_by_name == 0


@pytest.mark.parametrize(
    ("table", "header", "missing"),
    [
        ("persons", ["name"], "id_number (or source_id)"),
        ("officers", ["enterprise_id", "role"], "person_id_number (or person_name)"),
        ("shareholdings", ["holder_type", "enterprise_id"], "holder_id (or holder_name)"),
    ],
)
def test_files_without_a_way_to_name_people_are_refused(
    store: LadybugStore, write_files: WriteFiles, table: str, header: list[str], missing: str
) -> None:
    folder = write_files("no-identity", {f"{table}.csv": csv_text([header])})
    with pytest.raises(LoadRefused, match=re.escape(f"missing required column(s) {missing}")):
        load(store, folder)
