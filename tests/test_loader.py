"""The loader against a real LadybugDB store: a tiny city, updates, strictness, rejects."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from conftest import SALT, graph_state, make_resident_id, make_uscc

from graph_model.domain import load_domain
from graph_model.identifiers import USCC_ALPHABET, mask_id_number, person_key
from graph_model.snapshot import take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.load import LoadRefused, LoadSummary, load_folder

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
    assert counts.relations == {"LEGAL_REP": 3, "OFFICER": 2, "HOLDS_SHARES": 5, "GUARANTEES": 3}
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
        assert person.properties == {"id": person_key(number, SALT), "name": name}
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
    assert {(r.file, r.field) for r in summary.rejects} == {
        ("enterprises.csv", "status"),
        ("shareholdings.csv", "holder_id"),
        ("shareholdings.csv", "enterprise_id"),
    }
    assert store.counts().nodes["Enterprise"] == 0


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
