"""Warnings between two as-of dates, their registry (states, runs, idempotence) and watchlists:
hand-built snapshots for each kind of warning, invariants on a generated city, and repair
through a real store."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest
from conftest import SALT, make_resident_id, make_uscc
from feature_graphs import SnapshotBuilder

from graph_model.snapshot import Snapshot, take_snapshot
from graph_model.store.ladybug import LadybugStore
from loaders.generator import generate_city
from loaders.load import load_folder
from risk.features.context import FeatureContext, count_by
from risk.supervision.registry import Registry, SupervisionError, open_registry
from risk.supervision.warning_registry import get_warning, list_warnings, save_warnings, set_state
from risk.supervision.warnings import bad_records, compute_warnings
from risk.supervision.watchlists import (
    add_members,
    all_watchlists,
    create_watchlist,
    remove_members,
    show_watchlist,
)

PREVIOUS = date(2025, 5, 31)
CURRENT = date(2025, 6, 30)
T0 = datetime(2025, 7, 1, 9, 0, tzinfo=UTC)

_RECORD_TYPES: dict[str, pa.DataType] = {
    "id": pa.string(),
    "enterprise_id": pa.string(),
    "kind": pa.string(),
    "start": pa.date32(),
    "end": pa.date32(),
    "repaired_on": pa.date32(),
    "disputed_on": pa.date32(),
    "dispute_resolved_on": pa.date32(),
    "dispute_upheld": pa.bool_(),
    "reason": pa.string(),
    "severity": pa.string(),
    "kept": pa.bool_(),
    "finding": pa.string(),
}

# Records: (id, firm, kind, start, extra fields).
RECORDS: list[tuple[str, str, str, date, dict[str, Any]]] = [
    ("black_list:OLD", "E", "black_list", date(2024, 3, 1), {}),  # bad on both dates
    ("black_list:HM-D", "D", "black_list", date(2025, 6, 10), {}),  # new
    ("penalty:MINOR", "F", "penalty", date(2025, 6, 12), {"severity": "minor"}),  # not bad
    (
        "penalty:DISPUTED",
        "K",
        "penalty",
        date(2025, 6, 5),
        {"severity": "general", "disputed_on": date(2025, 6, 20)},
    ),
]


def city(as_of: date, default_on: date | None = date(2025, 6, 15)) -> Snapshot:
    """The test city as of a date: later records are absent, later dates blank."""
    b = SnapshotBuilder(as_of=as_of)
    b.firms_named("A", "B", "C", "D", "E", "F", "G", "K", "L", "X", "Y", "Z", "W")
    hubs = [f"H{i}" for i in range(51)]
    b.firms_named(*hubs)
    b.person("p1", "p2", "agent")
    b.tie("LEGAL_REP", "p1", "A").tie("LEGAL_REP", "p1", "B")
    b.tie("HOLDS_SHARES", "B", "C", share=0.6)
    b.tie("GUARANTEES", "C", "D", amount=1e6, currency="CNY")
    b.tie("LEGAL_REP", "p2", "D").tie("OFFICER", "p2", "G", role="director")
    b.tie("OFFICER", "p2", "L", role="manager").tie("HOLDS_SHARES", "p2", "L", share=0.2)
    b.tie("LEGAL_REP", "p1", "K")
    # An agent with 52 firms (over the hub cap) ties none of them to D.
    for firm in [*hubs, "D"]:
        b.tie("OFFICER", "agent", firm, role="supervisor")
    # A guarantee circle X -> Y -> Z -> X, and W outside it guaranteeing X.
    default = default_on if default_on and default_on <= as_of else None
    b.tie("GUARANTEES", "X", "Y", amount=5e5, currency="CNY", defaulted_on=default)
    b.tie("GUARANTEES", "Y", "Z", amount=5e5, currency="CNY")
    b.tie("GUARANTEES", "Z", "X", amount=5e5, currency="CNY")
    b.tie("GUARANTEES", "W", "X", amount=5e5, currency="CNY")
    return with_records(b.build(), RECORDS)


def with_records(
    snap: Snapshot, records: list[tuple[str, str, str, date, dict[str, Any]]]
) -> Snapshot:
    """The snapshot with these records (``RECORDS``' shape): later ones absent, later dates
    blank."""
    as_of = snap.as_of
    rows = []
    for record_id, firm, kind, start, extra in records:
        if start > as_of:
            continue
        row = {"id": record_id, "enterprise_id": firm, "kind": kind, "start": start, **extra}
        rows.append({k: (None if isinstance(v, date) and v > as_of else v) for k, v in row.items()})
    table = pa.table({c: pa.array([r.get(c) for r in rows], t) for c, t in _RECORD_TYPES.items()})
    table = table.append_column("enterprise", pa.array(snap.index_of(table["enterprise_id"])))
    return Snapshot(snap.as_of, snap.enterprises, snap.persons, snap.relations, table)


def warnings_of(table: pa.Table, kind: str) -> dict[str, dict[str, Any]]:
    rows = [r for r in table.to_pylist() if r["type"] == kind]
    return {f"{r['enterprise_id']} {r['subject']}": r for r in rows}


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[Registry]:
    with open_registry(tmp_path / "supervision.sqlite") as r:
        yield r


# -- the seven kinds --------------------------------------------------------------------------


def test_a_new_bad_record_warns_its_related_parties_within_k_hops() -> None:
    table = compute_warnings(city(PREVIOUS), city(CURRENT), hops=2)
    related = warnings_of(table, "related_bad_record")
    hm = "black_list:HM-D"
    assert related[f"C {hm}"]["evidence"] == f"C -[GUARANTEES]-> D -[HAS_RECORD]-> {hm}"
    assert related[f"B {hm}"]["evidence"] == (
        f"B -[HOLDS_SHARES]-> C -[GUARANTEES]-> D -[HAS_RECORD]-> {hm}"
    )
    assert related[f"G {hm}"]["evidence"] == (
        f"G <-[OFFICER]- p2 -[LEGAL_REP]-> D -[HAS_RECORD]-> {hm}"
    )
    assert related[f"C {hm}"]["event_on"] == date(2025, 6, 10)
    # A is 3 hops away; the hub agent's firms are not related; the old record and the minor
    # penalty raise nothing.
    assert {k.split()[0] for k in related if k.endswith(hm)} == {"B", "C", "G", "L"}
    assert not [k for k in related if "OLD" in k or "MINOR" in k]

    further = warnings_of(
        compute_warnings(city(PREVIOUS), city(CURRENT), hops=3), "related_bad_record"
    )
    assert further[f"A {hm}"]["evidence"] == (
        f"A <-[LEGAL_REP]- p1 -[LEGAL_REP]-> B -[HOLDS_SHARES]-> C -[GUARANTEES]-> D "
        f"-[HAS_RECORD]-> {hm}"
    )


def test_a_disputed_record_still_warns_and_is_marked() -> None:
    related = warnings_of(compute_warnings(city(PREVIOUS), city(CURRENT)), "related_bad_record")
    marked = {k: r["disputed"] for k, r in related.items()}
    assert marked["A penalty:DISPUTED"] is True  # A and K share p1
    assert marked["C black_list:HM-D"] is False


def test_a_person_of_a_newly_listed_firm_warns_their_other_firms() -> None:
    listed = warnings_of(compute_warnings(city(PREVIOUS), city(CURRENT)), "person_tied_to_listed")
    hm = "black_list:HM-D"
    assert set(listed) == {f"G {hm}", f"L {hm}"}  # not the agent's firms, not penalties
    assert listed[f"G {hm}"]["evidence"] == (
        f"G <-[OFFICER]- p2 -[LEGAL_REP]-> D -[HAS_RECORD]-> {hm}"
    )
    # L is tied to p2 twice (officer, shareholder): the stronger tie is shown, once.
    assert listed[f"L {hm}"]["evidence"].startswith("L <-[OFFICER]- p2")


def test_a_default_in_a_guarantee_circle_warns_the_other_members() -> None:
    circle = warnings_of(compute_warnings(city(PREVIOUS), city(CURRENT)), "circle_member_default")
    subject = "GUARANTEES:X>Y"
    assert set(circle) == {f"X {subject}", f"Z {subject}"}  # not Y itself, not W outside
    tail = " | defaulted 2025-06-15: X -[GUARANTEES X>Y]-> Y | circle of 3: X, Y, Z"
    assert circle[f"X {subject}"]["evidence"] == "X -[GUARANTEES]-> Y" + tail
    assert circle[f"Z {subject}"]["evidence"] == "Z -[GUARANTEES]-> X -[GUARANTEES]-> Y" + tail
    assert circle[f"Z {subject}"]["event_on"] == date(2025, 6, 15)
    # A default known on the previous date is not new.
    again = compute_warnings(city(CURRENT), city(date(2025, 7, 31)))
    assert not warnings_of(again, "circle_member_default")


def lender_city(as_of: date) -> Snapshot:
    """Borrowers whose own ties change in June: M's legal representative p1 hands over to p2,
    N's 60 % holder A sells to B, who holds 55 %; Q's guarantee to S closes the cycle Q -> R ->
    S -> Q, and V and W guarantee each other; T guarantees Q from outside; U keeps its legal
    representative and holder."""
    after = as_of >= CURRENT
    b = SnapshotBuilder(as_of=as_of)
    b.firms_named("M", "N", "A", "B", "Q", "R", "S", "T", "U", "V", "W")
    b.person("p1", "p2", "p3")
    b.tie("LEGAL_REP", "p2" if after else "p1", "M").tie("LEGAL_REP", "p3", "U")
    b.tie("HOLDS_SHARES", "B" if after else "A", "N", share=0.55 if after else 0.6)
    b.tie("HOLDS_SHARES", "p3", "N", share=0.45 if after else 0.4)
    b.tie("HOLDS_SHARES", "A", "U", share=0.7).tie("HOLDS_SHARES", "p3", "U", share=0.3)
    b.tie("GUARANTEES", "Q", "R", amount=1e6).tie("GUARANTEES", "R", "S", amount=1e6)
    b.tie("GUARANTEES", "T", "Q", amount=1e6)
    if after:
        b.tie("GUARANTEES", "S", "Q", amount=1e6)
        b.tie("GUARANTEES", "V", "W", amount=1e6).tie("GUARANTEES", "W", "V", amount=1e6)
    return with_records(b.build(), [])


def test_a_lender_is_warned_of_its_borrowers_own_changes() -> None:
    table = compute_warnings(lender_city(PREVIOUS), lender_city(CURRENT))
    subject = CURRENT.isoformat()
    rep = warnings_of(table, "legal_rep_changed")
    assert set(rep) == {f"M legal_rep@{subject}"}
    assert rep[f"M legal_rep@{subject}"]["evidence"] == "M: legal rep p1 -> p2"
    assert rep[f"M legal_rep@{subject}"]["event_on"] == CURRENT
    control = warnings_of(table, "controller_changed")
    assert set(control) == {f"N controller@{subject}"}  # p3's 40 -> 45 % controls nothing
    assert control[f"N controller@{subject}"]["evidence"] == "N: controller A 60% -> B 55%"
    circle = warnings_of(table, "joined_circle")
    assert set(circle) == {f"{f} circle@{subject}" for f in "QRSVW"}  # not T, outside it
    assert circle[f"Q circle@{subject}"]["evidence"] == "circle of 3: Q, R, S"
    assert circle[f"W circle@{subject}"]["evidence"] == "circle of 2: V, W"
    # Nothing changed in July: no lender's warnings.
    calm = compute_warnings(lender_city(CURRENT), lender_city(date(2025, 7, 31)))
    assert calm.num_rows == 0


def test_a_controller_lost_or_gained_and_a_rep_gone_are_changes() -> None:
    before, after = SnapshotBuilder(as_of=PREVIOUS), SnapshotBuilder(as_of=CURRENT)
    for b in (before, after):
        b.firms_named("M", "N", "O", "A", "B", "D")
        b.person("p1", "p2").tie("OFFICER", "p2", "N", role="manager")
    before.tie("LEGAL_REP", "p1", "M").tie("HOLDS_SHARES", "A", "N", share=0.6)
    before.tie("HOLDS_SHARES", "A", "O", share=0.5)
    # D is deregistered in June: its legal representative and holder leave with it.
    before.tie("LEGAL_REP", "p1", "D").tie("HOLDS_SHARES", "A", "D", share=1.0)
    after.firm("D", deregistered_on=date(2025, 6, 20), status="deregistered")
    after.tie("HOLDS_SHARES", "A", "N", share=0.5).tie("HOLDS_SHARES", "B", "O", share=0.51)
    table = compute_warnings(with_records(before.build(), []), with_records(after.build(), []))
    when = CURRENT.isoformat()
    reps = {k: r["evidence"] for k, r in warnings_of(table, "legal_rep_changed").items()}
    assert reps == {f"M legal_rep@{when}": "M: legal rep p1 -> none"}  # not D
    control = {k: r["evidence"] for k, r in warnings_of(table, "controller_changed").items()}
    assert control == {
        f"N controller@{when}": "N: controller A 60% -> none",  # 50 % is not control
        f"O controller@{when}": "O: controller none -> B 51%",
    }


def test_a_worse_grade_warns_and_a_better_one_does_not() -> None:
    before = pa.table({"id": ["A", "B", "C"], "grade": ["A", "B", "C"], "score": [0.1, 0.3, 0.6]})
    after = pa.table(
        {"id": ["A", "B", "C", "D"], "grade": ["C", "B", "B", "D"], "score": [0.55, 0.3, 0.4, 0.9]}
    )
    table = compute_warnings(city(PREVIOUS), city(CURRENT), before, after)
    graded = warnings_of(table, "grade_worsened")
    assert list(graded) == ["A grade@2025-06-30"]
    assert graded["A grade@2025-06-30"]["evidence"] == "A: grade A -> C (score 0.1 -> 0.55)"
    assert not warnings_of(compute_warnings(city(PREVIOUS), city(CURRENT)), "grade_worsened")


@pytest.mark.parametrize(
    ("grades", "message"),
    [
        (pa.table({"id": ["A"], "grade": ["A"]}), "missing column(s) score"),
        (pa.table({"id": ["A"], "grade": ["a+"], "score": [0.1]}), "row 1: grade 'a+'"),
        (pa.table({"id": ["A", "A"], "grade": ["A", "B"], "score": [0.1, 0.2]}), "graded twice"),
    ],
)
def test_bad_gradings_are_refused(grades: pa.Table, message: str) -> None:
    good = pa.table({"id": ["A"], "grade": ["A"], "score": [0.1]})
    with pytest.raises(SupervisionError, match=re.escape(message)):
        compute_warnings(city(PREVIOUS), city(CURRENT), good, grades)


def test_dates_and_hops_are_checked() -> None:
    with pytest.raises(SupervisionError, match="must come before"):
        compute_warnings(city(CURRENT), city(PREVIOUS))
    with pytest.raises(SupervisionError, match="hops must be from 1 to 4"):
        compute_warnings(city(PREVIOUS), city(CURRENT), hops=0)


# -- invariants on a generated city -------------------------------------------------------------


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Snapshot, Snapshot]:
    work = tmp_path_factory.mktemp("generated")
    generate_city(work / "data", 1500, seed=11)
    with LadybugStore(work / "db") as store:
        load_folder(store, work / "data", salt=SALT, rejects_dir=work / "rejects", strict=True)
        return take_snapshot(store, date(2025, 3, 31)), take_snapshot(store, date(2025, 12, 31))


def test_bad_records_are_what_the_features_count_as_bad(
    generated: tuple[Snapshot, Snapshot],
) -> None:
    for snap in generated:
        owner = snap.records["enterprise"].to_numpy()[bad_records(snap)]
        per_firm = count_by(owner, snap.n_enterprises) > 0
        np.testing.assert_array_equal(per_firm, FeatureContext(snap).bad)


def test_every_related_warning_is_a_real_path_within_k_hops(
    generated: tuple[Snapshot, Snapshot],
) -> None:
    previous, current = generated
    table = compute_warnings(previous, current, hops=2)
    related = [r for r in table.to_pylist() if r["type"] == "related_bad_record"]
    assert len(related) > 50  # the city has enough new bad records to test something
    ids = current.enterprises["id"].to_pylist() + current.persons["id"].to_pylist()
    edges = set()
    for rel_type, rel in current.relations.items():
        for s, t in zip(rel.sources, rel.indices, strict=True):
            edges.add((ids[s], rel_type, ids[t]))
    graph = nx.from_scipy_sparse_array(FeatureContext(current).related)
    records = {r["id"]: r for r in current.records.to_pylist()}
    position = {e: i for i, e in enumerate(current.enterprises["id"].to_pylist())}
    step = re.compile(r" (-|<-)\[([A-Z_]+)\](->|-) ")
    for w in related:
        path, record = w["evidence"].rsplit(" -[HAS_RECORD]-> ", 1)
        assert record == w["subject"]
        parts = step.split(path)
        nodes = parts[0::4]
        assert nodes[0] == w["enterprise_id"]
        assert nodes[-1] == records[record]["enterprise_id"]
        for i, a in enumerate(nodes[:-1]):
            left, rel_type, _ = parts[4 * i + 1 : 4 * i + 4]
            b = nodes[i + 1]
            assert ((a, rel_type, b) if left == "-" else (b, rel_type, a)) in edges, w
        firms = [n for n in nodes if n in position]
        # Hops on the related graph: the firms on the path; a shortest one, at most 2.
        distance = nx.shortest_path_length(graph, position[w["enterprise_id"]], position[nodes[-1]])
        assert len(firms) - 1 == distance <= 2
    # And every firm within 2 hops of a new bad record's firm is warned, once per record.
    before = set(previous.records["id"].filter(pa.array(bad_records(previous))).to_pylist())
    want = set()
    for row in np.flatnonzero(bad_records(current)):
        rec = current.records.slice(int(row), 1).to_pylist()[0]
        if rec["id"] in before:
            continue
        near = nx.single_source_shortest_path_length(graph, rec["enterprise"], cutoff=2)
        want |= {(ids[n], rec["id"]) for n in near if n != rec["enterprise"]}
    assert {(w["enterprise_id"], w["subject"]) for w in related} == want
    assert len(related) == len(want)


# -- the registry --------------------------------------------------------------------------------


def raise_and_save(registry: Registry, at: datetime = T0) -> Any:
    previous, current = city(PREVIOUS), city(CURRENT)
    table = compute_warnings(previous, current)
    return save_warnings(registry, table, CURRENT, PREVIOUS, 2, current, at)


def test_raising_the_same_warnings_twice_stores_them_once(registry: Registry) -> None:
    first = raise_and_save(registry)
    assert first.found == first.added > 0
    assert first.by_type["related_bad_record"] > 0 and first.by_type["grade_worsened"] == 0
    second = raise_and_save(registry)
    assert (second.found, second.added, second.closed) == (first.found, 0, 0)
    stored = list_warnings(registry, limit=10_000)
    assert len(stored) == first.found
    assert {w.state for w in stored} == {"new"}
    runs = registry.connection.execute("SELECT count(*) FROM warning_runs").fetchone()[0]
    assert runs == 2


def test_state_changes_are_recorded_with_who_and_when(registry: Registry) -> None:
    raise_and_save(registry)
    stored = list_warnings(registry, enterprise_id="C", type_="related_bad_record")
    (w,) = [x for x in stored if x.subject == "black_list:HM-D"]
    seen = set_state(registry, w.id, "seen", "analyst.wang", at=T0)
    assert seen.state == "seen"
    set_state(registry, w.id, "closed", "analyst.li", "checked with the bank", T0)
    with pytest.raises(SupervisionError, match="is closed: it cannot become seen"):
        set_state(registry, w.id, "seen", "analyst.wang")
    with pytest.raises(SupervisionError, match="no warning 999999"):
        set_state(registry, 999_999, "seen", "analyst.wang")
    with pytest.raises(SupervisionError, match="unknown state 'done'"):
        set_state(registry, w.id, "done", "analyst.wang")
    stored, history = get_warning(registry, w.id)
    assert stored.state == "closed"
    assert [(h.actor, h.from_state, h.to_state, h.note) for h in history] == [
        ("analyst.wang", "new", "seen", None),
        ("analyst.li", "seen", "closed", "checked with the bank"),
    ]
    assert history[0].at == "2025-07-01T09:00:00+00:00"
    assert [x.id for x in list_warnings(registry, state="closed")] == [w.id]


def test_a_watchlist_gets_the_warnings_of_its_members(registry: Registry) -> None:
    c, g, other = make_uscc(1), make_uscc(2), make_uscc(3)
    table = pa.table(
        {
            "type": ["related_bad_record"] * 3,
            "enterprise_id": [c, g, other],
            "subject": ["black_list:HM-1"] * 3,
            "event_on": pa.array([CURRENT] * 3, pa.date32()),
            "evidence": ["…"] * 3,
            "disputed": [False] * 3,
        }
    )
    save_warnings(registry, table, CURRENT, PREVIOUS, 2, city(CURRENT), T0)
    create_watchlist(registry, "bank-loans", "宁波银行", "bank", T0)
    assert add_members(registry, "bank-loans", [c, g, c], T0) == 2
    assert add_members(registry, "bank-loans", [c], T0) == 0
    assert show_watchlist(registry, "bank-loans").members == tuple(sorted([c, g]))
    assert {w.enterprise_id for w in list_warnings(registry, watchlist="bank-loans")} == {c, g}
    assert remove_members(registry, "bank-loans", [g]) == 1
    assert [w.enterprise_id for w in list_warnings(registry, watchlist="bank-loans")] == [c]
    assert all_watchlists(registry) == [("bank-loans", "宁波银行", "bank", 1)]


def _twice(r: Registry) -> None:
    create_watchlist(r, "w", "某银行", "bank")
    create_watchlist(r, "w", "某银行", "bank")


def _bad_member(r: Registry) -> None:
    create_watchlist(r, "w", "某银行", "bank")
    add_members(r, "w", ["123", make_uscc(1)])


def _remove_absent(r: Registry) -> None:
    create_watchlist(r, "w", "某银行", "bank")
    remove_members(r, "w", [make_uscc(1)])


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda r: create_watchlist(r, "w", "某银行", "insurer"), "owner kind must be one of"),
        (_twice, "a watchlist named 'w' exists already"),
        (lambda r: add_members(r, "nope", [make_uscc(1)]), "no watchlist 'nope'"),
        (_bad_member, "not enterprise ids (USCC with a valid check character"),
        (_remove_absent, "not on watchlist 'w'"),
        (lambda r: list_warnings(r, watchlist="nope"), "no watchlist 'nope'"),
        (lambda r: list_warnings(r, state="open"), "unknown state 'open'"),
    ],
)
def test_watchlist_mistakes_are_clear_errors(
    registry: Registry, call: Callable[[Registry], object], message: str
) -> None:
    with pytest.raises(SupervisionError, match=re.escape(message)):
        call(registry)


def test_a_registry_of_another_version_or_not_a_database_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "supervision.sqlite"
    with open_registry(path):
        pass
    conn = sqlite3.connect(path)
    conn.execute("UPDATE meta SET value = '99' WHERE name = 'schema'")
    conn.commit()
    conn.close()
    with pytest.raises(SupervisionError, match="schema version 99"), open_registry(path):
        pass
    junk = tmp_path / "junk.sqlite"
    junk.write_bytes(b"not a database, just bytes" * 100)
    with (
        pytest.raises(SupervisionError, match="is not a supervision registry"),
        open_registry(junk),
    ):
        pass


# -- repair through a real store -----------------------------------------------------------------

A, B = make_uscc(21), make_uscc(22)
P1 = make_resident_id(21)
BLACK = ["record_no", "enterprise_id", "start", "reason", "repaired_on"]


def _load(store: LadybugStore, folder: Path, tables: dict[str, list[list[str]]]) -> None:
    folder.mkdir()
    for name, rows in tables.items():
        (folder / f"{name}.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    summary = load_folder(store, folder, salt=SALT, rejects_dir=folder / "rejects")
    assert summary.rejected == 0, summary.rejects


def test_a_repaired_record_raises_nothing_and_closes_its_warnings(
    store: LadybugStore, registry: Registry, tmp_path: Path
) -> None:
    _load(
        store,
        tmp_path / "city",
        {
            "enterprises": [
                ["id", "name", "established_on"],
                [A, "甲", "2015-01-01"],
                [B, "乙", "2015-01-01"],
            ],
            "persons": [["id_number", "name"], [P1, "张三"]],
            "legal_reps": [["person_id_number", "enterprise_id"], [P1, A], [P1, B]],
            "black_list": [BLACK, ["HM-1", B, "2024-01-10", "虚假登记", ""]],
        },
    )
    days = [date(2023, 12, 31), date(2024, 1, 31), date(2025, 2, 28), date(2025, 3, 31)]
    snaps = {d: take_snapshot(store, d) for d in days}
    first = compute_warnings(snaps[days[0]], snaps[days[1]])
    assert [(w["type"], w["enterprise_id"]) for w in first.to_pylist()] == [
        ("person_tied_to_listed", A),
        ("related_bad_record", A),
    ]
    save_warnings(registry, first, days[1], days[0], 2, snaps[days[1]], T0)

    _load(
        store,
        tmp_path / "repair",
        {"black_list": [BLACK, ["HM-1", B, "2024-01-10", "虚假登记", "2025-03-01"]]},
    )
    repaired = {d: take_snapshot(store, d) for d in days}
    # Raised again over the first window (the repair came later), nothing changes.
    again = compute_warnings(repaired[days[0]], repaired[days[1]])
    assert again.equals(first)
    # The record leaves at its repair: no warning, and the open one is closed by the system.
    table = compute_warnings(repaired[days[2]], repaired[days[3]])
    assert table.num_rows == 0
    run = save_warnings(registry, table, days[3], days[2], 2, repaired[days[3]], T0)
    # Both warnings of A: its related party's record, and its person tied to a listed firm.
    assert run.closed == 2
    for w in list_warnings(registry):
        _, history = get_warning(registry, w.id)
        assert (w.state, history[0].actor) == ("closed", "system")
        assert "no longer counts on 2025-03-31" in (history[0].note or "")


def test_changes_follow_the_validity_periods_in_the_store(
    store: LadybugStore, tmp_path: Path
) -> None:
    p2 = make_resident_id(22)
    _load(
        store,
        tmp_path / "city",
        {
            "enterprises": [
                ["id", "name", "established_on"],
                [A, "甲", "2015-01-01"],
                [B, "乙", "2015-01-01"],
            ],
            "persons": [["id_number", "name"], [P1, "张三"], [p2, "李四"]],
            "legal_reps": [
                ["person_id_number", "enterprise_id", "valid_from", "valid_to"],
                [P1, A, "2015-01-01", "2025-03-01"],
                [p2, A, "2025-03-01", ""],
            ],
            "shareholdings": [
                ["holder_type", "holder_id", "enterprise_id", "share", "valid_from", "valid_to"],
                ["enterprise", B, A, "0.6", "2015-01-01", "2025-03-10"],
                ["person", p2, A, "0.55", "2025-03-10", ""],
            ],
            "guarantees": [
                ["guarantor_id", "guaranteed_id", "contract_no", "amount", "valid_from"],
                [A, B, "G1", "1000000", "2024-01-01"],
                [B, A, "G2", "1000000", "2025-03-15"],
            ],
        },
    )
    before, after = take_snapshot(store, date(2025, 2, 28)), take_snapshot(store, date(2025, 3, 31))
    person = dict(
        zip(after.persons["name"].to_pylist(), after.persons["id"].to_pylist(), strict=True)
    )
    table = compute_warnings(before, after)
    found = {(w["type"], w["enterprise_id"]): w["evidence"] for w in table.to_pylist()}
    assert found == {
        ("legal_rep_changed", A): f"{A}: legal rep {person['张三']} -> {person['李四']}",
        ("controller_changed", A): f"{A}: controller {B} 60% -> {person['李四']} 55%",
        ("joined_circle", A): f"circle of 2: {', '.join(sorted([A, B]))}",
        ("joined_circle", B): f"circle of 2: {', '.join(sorted([A, B]))}",
    }
    # The month before, nothing had changed yet.
    assert compute_warnings(take_snapshot(store, date(2025, 1, 31)), before).num_rows == 0


# -- the command line -----------------------------------------------------------------------------


def test_the_command_line_raises_lists_and_watches(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from cli.app import app

    monkeypatch.setenv("CREDITGRAPH_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CREDITGRAPH_NEO4J_URI", raising=False)

    def run(*args: str) -> tuple[int, str]:
        result = CliRunner().invoke(app, list(args))
        return result.exit_code, result.output

    data = tmp_path / "city"
    data.mkdir()
    tables = {
        "enterprises": [
            ["id", "name", "established_on"],
            [A, "甲", "2015-01-01"],
            [B, "乙", "2015-01-01"],
        ],
        "persons": [["id_number", "name"], [P1, "张三"]],
        "legal_reps": [["person_id_number", "enterprise_id"], [P1, A], [P1, B]],
        "black_list": [BLACK, ["HM-1", B, "2024-01-10", "虚假登记", ""]],
    }
    for name, rows in tables.items():
        (data / f"{name}.csv").write_text("\n".join(",".join(r) for r in rows) + "\n")
    assert run("load", str(data), "--quiet")[0] == 0
    window = ("--as-of", "2024-01-31", "--previous", "2023-12-31")
    grades = tmp_path / "g1.csv"
    grades.write_text(f"id,grade,score\n{A},C,0.6\n{B},D,0.9\n")
    before = tmp_path / "g0.csv"
    before.write_text(f"id,grade,score\n{A},C,0.5\n{B},B,0.3\n")

    code, out = run(
        "warnings", "raise", *window, "--grades", str(grades), "--previous-grades", str(before)
    )
    assert code == 0, out
    assert "3 warnings, 3 new, 0 known already" in out
    code, out = run("warnings", "raise", *window)
    assert "no stored scores of 2024-01-31" in out and "2 warnings, 0 new, 2 known already" in out

    code, out = run("watchlist", "create", "loans", "--owner", "宁波银行", "--owner-kind", "bank")
    assert code == 0, out
    code, out = run("watchlist", "add", "loans", A, make_uscc(99))
    assert code == 2 and f"no such enterprise in the store: {make_uscc(99)}" in out
    assert run("watchlist", "add", "loans", A)[1].startswith("1 added")
    code, out = run("warnings", "list", "--watchlist", "loans")
    assert code == 0 and "2 warning(s)" in out
    heads = [line.split() for line in out.splitlines() if line.startswith("#")]
    assert [h[3] for h in heads] == [A, A]  # B's grade warning is not A's
    assert f"{A} <-[LEGAL_REP]- " in out
    code, out = run("warnings", "list", "--type", "grade_worsened")
    assert f"{B}: grade B -> D" in out

    first = out.split()[0].lstrip("#")
    assert run("warnings", "set-state", first, "closed", "--by", "li")[0] == 0
    code, out = run("warnings", "set-state", first, "seen", "--by", "li")
    assert code == 2 and "it cannot become seen" in out
    code, out = run("warnings", "show", first)
    assert "li new → closed" in out

    for args, message in [
        (
            ("warnings", "raise", "--as-of", "2023-12-31", "--previous", "2024-01-31"),
            "must come before",
        ),
        (("warnings", "raise", *window, "--grades", str(grades)), "give both --grades"),
        (("warnings", "raise", "--as-of", "2024-02-30", "--previous", "2023-12-31"), "not a date"),
        (("warnings", "list", "--watchlist", "nope"), "no watchlist 'nope'"),
        (("warnings", "show", "12345"), "no warning 12345"),
        (
            ("watchlist", "create", "loans", "--owner", "x", "--owner-kind", "bank"),
            "exists already",
        ),
    ]:
        code, out = run(*args)
        assert code == 2 and message in out, (args, out)
