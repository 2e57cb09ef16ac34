"""The ``GraphStore`` contract: every backend must pass these, written against the protocol only.

Expected answers come from the fixture graph and the plain-Python oracles in
this package (validity, breadth-first distances, trails), not from a backend.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date

import pyarrow as pa
import pytest

from graph_model.domain import load_domain
from graph_model.store.layout import RELATED_PARTY_TYPES
from graph_model.store.protocol import (
    Entity,
    GraphStore,
    Neighbour,
    NodeRef,
    Path,
    SaltMismatchError,
    StoreCounts,
    StoreError,
    WriteBatch,
)

from . import (
    AS_OF,
    ENTERPRISES,
    NINGBO,
    PERSONS,
    RECORDS,
    REL_BY_KEY,
    REL_TYPES,
    RELS,
    E,
    P,
    Rel,
    distances,
    full_batch,
    label_of,
    node_table,
    records_table,
    rel,
    relation_table,
    trails,
    uscc,
)

Reopen = Callable[..., GraphStore]
RECORD_KINDS = tuple(r.kind for r in load_domain().records)


def expected_counts() -> StoreCounts:
    return StoreCounts(
        nodes={"Enterprise": len(ENTERPRISES), "Person": len(PERSONS)},
        relations={t: sum(r.type == t for r in RELS) for t in REL_TYPES},
        records={k: sum(r["kind"] == k for r in RECORDS) for k in RECORD_KINDS},
    )


def state(store: GraphStore) -> tuple:
    """Everything readable about the fixture nodes, to compare before and after a write."""
    entities = tuple(store.get_entity(i) for i in (*E, *P))
    pages = tuple(store.neighbours(i, limit=100) for i in (*E, *P))
    return store.counts(), entities, pages


def edge_ids(path: Path) -> list[tuple[str, str, str]]:
    return [(e.type, e.source, e.target) for e in path.edges]


def edge_keys(path: Path) -> list[str]:
    return [e.properties["key"] for e in path.edges]


def assert_walks(path: Path, start: str) -> None:
    """A well-formed path from ``start``: consecutive nodes tied by its edges, labels right."""
    assert path.nodes[0].id == start
    assert len(path.nodes) == path.length + 1 >= 2
    for i, edge in enumerate(path.edges):
        assert {edge.source, edge.target} == {path.nodes[i].id, path.nodes[i + 1].id}
    for node in path.nodes:
        assert node.label == label_of(node.id)


def assert_directed(path: Path, forward: bool) -> None:
    """Each edge points along the path (``forward``) or against it."""
    for i, edge in enumerate(path.edges):
        a, b = path.nodes[i].id, path.nodes[i + 1].id
        assert (edge.source, edge.target) == ((a, b) if forward else (b, a))


def assert_valid_edges(path: Path, day: date) -> None:
    """Every edge is a fixture relation valid on ``day`` (expired ones are never walked)."""
    for edge in path.edges:
        found = REL_BY_KEY[edge.properties["key"]]
        assert (found.type, found.source, found.target) == (edge.type, edge.source, edge.target)
        assert found.valid_on(day), edge


def assert_trail(path: Path) -> None:
    assert len(set(edge_keys(path))) == path.length, "a relation is repeated"


def by_length(paths: list[Path]) -> bool:
    return [p.length for p in paths] == sorted(p.length for p in paths)


# -- counts and entities --------------------------------------------------------------


def test_empty_store_counts_zero_for_every_type(store: GraphStore) -> None:
    zero = expected_counts()
    assert store.counts() == StoreCounts(
        nodes=dict.fromkeys(zero.nodes, 0),
        relations=dict.fromkeys(zero.relations, 0),
        records=dict.fromkeys(zero.records, 0),
    )


def test_counts(graph: GraphStore) -> None:
    assert graph.counts() == expected_counts()


def test_get_enterprise_with_records_in_start_order(graph: GraphStore) -> None:
    entity = graph.get_entity(E[0])
    assert isinstance(entity, Entity)
    assert (entity.label, entity.id) == ("Enterprise", E[0])
    props = entity.properties
    assert props["name"] == "宁波测试甲有限公司"
    assert props["registered_capital"] == 1_000_000.0
    assert props["established_on"] == date(2005, 3, 1)
    assert props["status"] == "active"
    assert props["phone"] == "057487000000"
    assert props["deregistered_on"] is None
    mine = sorted((r for r in RECORDS if r["enterprise_id"] == E[0]), key=lambda r: r["start"])
    assert [r["record_no"] for r in entity.records] == [r["record_no"] for r in mine]
    assert [r["kind"] for r in entity.records] == ["inspection", "abnormal_list", "penalty"]
    for got, want in zip(entity.records, mine, strict=True):
        for name, value in want.items():
            if name != "id":
                assert got[name] == value, name
    # An ended record is history: still returned, with its end.
    assert entity.records[1]["end"] == date(2022, 3, 1)


def test_get_enterprise_without_records(graph: GraphStore) -> None:
    entity = graph.get_entity(E[4])
    assert entity is not None
    assert entity.records == ()
    assert entity.properties["name"] == "宁波测试戊有限公司"


def test_get_person(graph: GraphStore) -> None:
    entity = graph.get_entity(P[2])
    assert entity is not None
    assert (entity.label, entity.id, entity.records) == ("Person", P[2], ())
    assert entity.properties["name"] == "张三"


def test_person_identity_strength_is_stored(graph: GraphStore) -> None:
    # Every backend keeps how a person is identified, and a source id as given.
    found = {p: graph.get_entity(p) for p in (P[0], P[1], P[4])}
    shown = {
        p: (e.properties["identity"], e.properties["source_id"], e.properties["scope"])
        for p, e in found.items()
        if e is not None
    }
    assert shown == {
        P[0]: ("id_number", None, None),
        P[1]: ("source_id", "SRC:contract:p-1", None),
        P[4]: ("name", None, E[6]),
    }
    exported = pa.concat_tables(graph.export_nodes("Person", AS_OF, 1_000))
    by_key = dict(zip(exported["id"].to_pylist(), exported["identity"].to_pylist(), strict=True))
    assert by_key == {p["id"]: p["identity"] for p in PERSONS}


@pytest.mark.parametrize("missing", [uscc(99), "P" + "0" * 24, "penalty:CF-1", "", "宁波"])
def test_get_missing_entity_is_none(graph: GraphStore, missing: str) -> None:
    assert graph.get_entity(missing) is None


# -- existing keys --------------------------------------------------------------------


def test_existing_keys(graph: GraphStore) -> None:
    keys = pa.array([E[0], uscc(99), P[0], E[11]])
    assert graph.existing_keys("Enterprise", keys).to_pylist() == [True, False, False, True]
    assert graph.existing_keys("Person", keys).to_pylist() == [False, False, True, False]
    assert graph.existing_keys("Person", pa.array([], pa.string())).to_pylist() == []


def test_node_values(graph: GraphStore) -> None:
    keys = pa.array([E[2], uscc(99), E[0], None, E[2]])
    capital = graph.node_values("Enterprise", keys, "registered_capital")
    assert capital.type == pa.float64()
    assert capital.to_pylist() == [3e6, None, 1e6, None, 3e6]
    founded = graph.node_values("Enterprise", pa.array([E[11]]), "established_on")
    assert founded.to_pylist() == [date(2024, 6, 1)]
    assert graph.node_values("Person", pa.array([], pa.string()), "name").to_pylist() == []
    with pytest.raises(ValueError, match="not a stored property"):
        graph.node_values("Enterprise", keys, "id) DETACH DELETE (n")


# -- neighbours -----------------------------------------------------------------------


def expected_neighbours(
    node: str, direction: str, types: tuple[str, ...] = REL_TYPES
) -> list[tuple[str, str, str, str, str]]:
    """(type, neighbour, source, target, key) of every stored relation touching ``node``."""
    out = []
    for r in RELS:
        if r.type not in types:
            continue
        if r.source == node and direction in ("out", "both"):
            out.append((r.type, r.target, r.source, r.target, r.key))
        if r.target == node and direction in ("in", "both"):
            out.append((r.type, r.source, r.source, r.target, r.key))
    return sorted(out)


def summary(items: tuple[Neighbour, ...]) -> list[tuple[str, str, str, str, str]]:
    return [
        (n.edge.type, n.node.id, n.edge.source, n.edge.target, n.edge.properties["key"])
        for n in items
    ]


@pytest.mark.parametrize("direction", ["out", "in", "both"])
@pytest.mark.parametrize("node", [E[0], E[1], E[5], E[7], P[0], P[1]])
def test_neighbours_by_direction(graph: GraphStore, node: str, direction: str) -> None:
    page = graph.neighbours(node, direction=direction, limit=100)
    assert page.next_offset is None
    got = summary(page.items)
    # Ordered by relation type, then neighbour key.
    assert [g[:2] for g in got] == sorted(g[:2] for g in got)
    assert sorted(got) == expected_neighbours(node, direction)
    for item in page.items:
        assert item.node.label == label_of(item.node.id)
        assert item.node.name is not None


def test_neighbours_of_person_have_no_incoming(graph: GraphStore) -> None:
    page = graph.neighbours(P[0], direction="in")
    assert page.items == ()
    assert page.next_offset is None


def test_neighbours_carry_properties_and_names(graph: GraphStore) -> None:
    page = graph.neighbours(E[2], rel_types=("HOLDS_SHARES",), direction="in")
    (item,) = page.items
    assert item.node.id == E[1]
    assert item.node.name == "宁波测试乙有限公司"
    assert item.edge.properties["share"] == 0.5
    assert item.edge.properties["subscribed_amount"] == 1.5e6
    assert item.edge.properties["valid_from"] == date(2016, 1, 1)
    assert item.edge.properties["valid_to"] is None


def test_neighbours_rel_types_filter(graph: GraphStore) -> None:
    page = graph.neighbours(E[0], rel_types=("LEGAL_REP", "OFFICER"))
    assert sorted(summary(page.items)) == expected_neighbours(
        E[0], "both", ("LEGAL_REP", "OFFICER")
    )
    assert {n.node.id for n in page.items} == {P[0], P[1]}
    # P1 is both director and supervisor: two relations to the same neighbour.
    roles = sorted(n.edge.properties["role"] for n in page.items if n.node.id == P[1])
    assert roles == ["director", "supervisor"]


def test_neighbours_mutual_pair_gives_two_relations(graph: GraphStore) -> None:
    page = graph.neighbours(E[5], rel_types=("GUARANTEES",), direction="both")
    assert sorted(summary(page.items)) == expected_neighbours(E[5], "both", ("GUARANTEES",))
    assert sorted((n.node.id, n.edge.source, n.edge.target) for n in page.items) == [
        (E[6], E[5], E[6]),
        (E[6], E[6], E[5]),
    ]
    contracts = {n.edge.properties["contract_no"] for n in page.items}
    assert contracts == {"GC-000", "GC-001"}


def test_neighbours_include_expired_relations(graph: GraphStore) -> None:
    # neighbours() is not as of a date: it lists every stored relation with its validity.
    page = graph.neighbours(E[8], rel_types=("HOLDS_SHARES",))
    (item,) = page.items
    assert (item.node.id, item.edge.properties["valid_to"]) == (E[0], date(2020, 1, 1))


def test_neighbours_of_missing_node_is_empty(graph: GraphStore) -> None:
    page = graph.neighbours(uscc(99))
    assert (page.items, page.next_offset) == ((), None)


@pytest.mark.parametrize("limit", [1, 2, 3, 5, 6, 7])
@pytest.mark.parametrize("node", [E[0], E[7]])
def test_neighbours_pages_concatenate_to_the_full_list(
    graph: GraphStore, node: str, limit: int
) -> None:
    full = graph.neighbours(node, limit=100).items
    assert len(full) >= 4
    seen: list[Neighbour] = []
    offset: int | None = 0
    while offset is not None:
        page = graph.neighbours(node, limit=limit, offset=offset)
        assert 1 <= len(page.items) <= limit
        seen.extend(page.items)
        if page.next_offset is not None:
            assert len(page.items) == limit
            assert page.next_offset == offset + limit
        offset = page.next_offset
        assert len(seen) <= len(full), "pagination does not end"
    assert tuple(seen) == full
    assert len(set(summary(tuple(seen)))) == len(seen), "a neighbour repeats across pages"


def test_neighbours_page_past_the_end(graph: GraphStore) -> None:
    n = len(graph.neighbours(E[0], limit=100).items)
    exact = graph.neighbours(E[0], limit=n)
    assert len(exact.items) == n
    assert exact.next_offset is None
    beyond = graph.neighbours(E[0], limit=5, offset=n)
    assert (beyond.items, beyond.next_offset) == ((), None)


# -- related parties ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "hops", "day"),
    [
        (E[0], 1, AS_OF),
        (E[0], 2, AS_OF),
        (E[0], 3, AS_OF),
        (E[0], 1, date(2016, 6, 1)),
        (E[3], 2, AS_OF),
        (E[3], 2, date(2015, 12, 1)),
        (E[5], 3, AS_OF),
        (E[10], 2, AS_OF),
    ],
)
def test_related_parties(graph: GraphStore, start: str, hops: int, day: date) -> None:
    paths = graph.related_parties(start, max_hops=hops, as_of=day, limit=1000)
    dist = distances(start, day, RELATED_PARTY_TYPES, hops)
    expected = {n for n in dist if n != start and label_of(n) == "Enterprise"}
    assert {p.end.id for p in paths} == expected
    for path in paths:
        assert_walks(path, start)
        assert path.end.label == "Enterprise"
        assert path.end.id != start
        assert path.length <= hops
        assert_valid_edges(path, day)
    # The nearest tie of each enterprise is found.
    for node in expected:
        assert min(p.length for p in paths if p.end.id == node) == dist[node]
    assert by_length(paths)


def test_related_parties_do_not_walk_expired_relations(graph: GraphStore) -> None:
    # E0 held E8 until 2020; afterwards E8 is 2 hops away through E7's guarantee.
    before = {p.end.id: p for p in graph.related_parties(E[0], 1, as_of=date(2016, 6, 1))}
    assert edge_ids(before[E[8]]) == [("HOLDS_SHARES", E[0], E[8])]
    after = graph.related_parties(E[0], 1, as_of=AS_OF)
    assert E[8] not in {p.end.id for p in after}
    # P3 stopped representing E3 in 2018, so E3 and E10 are no longer tied.
    assert E[10] in {p.end.id for p in graph.related_parties(E[3], 2, as_of=date(2016, 1, 1))}
    assert E[10] not in {p.end.id for p in graph.related_parties(E[3], 2, as_of=AS_OF)}


def test_related_parties_default_as_of_is_today(graph: GraphStore) -> None:
    today = date.today()
    paths = graph.related_parties(E[5], max_hops=2)
    for path in paths:
        assert_valid_edges(path, today)
    dist = distances(E[5], today, RELATED_PARTY_TYPES, 2)
    assert {p.end.id for p in paths} == {n for n in dist if n != E[5] and n in E}


@pytest.mark.parametrize("limit", [1, 2, 3])
def test_related_parties_limit(graph: GraphStore, limit: int) -> None:
    every = graph.related_parties(E[0], 3, as_of=AS_OF, limit=1000)
    assert len(every) > 3
    some = graph.related_parties(E[0], 3, as_of=AS_OF, limit=limit)
    assert len(some) == limit
    # Nearest first, so a limit keeps the closest ties.
    assert [p.length for p in some] == [p.length for p in every[:limit]]


def test_related_parties_of_unknown_or_isolated_enterprise(graph: GraphStore) -> None:
    assert graph.related_parties(uscc(99), 2, as_of=AS_OF) == []
    assert graph.related_parties(E[11], 2, as_of=AS_OF) == []


@pytest.mark.parametrize("hops", [0, -1])
def test_related_parties_refuse_bad_hops(graph: GraphStore, hops: int) -> None:
    with pytest.raises(ValueError):
        graph.related_parties(E[0], max_hops=hops)


# -- ownership ------------------------------------------------------------------------


def node_ids(paths: list[Path]) -> list[tuple[str, ...]]:
    return sorted(tuple(n.id for n in p.nodes) for p in paths)


@pytest.mark.parametrize(
    ("start", "direction", "depth", "day"),
    [
        (E[2], "up", 5, AS_OF),
        (E[2], "up", 1, AS_OF),
        (E[2], "up", 2, AS_OF),
        (E[0], "down", 5, AS_OF),
        (E[0], "down", 5, date(2016, 6, 1)),
        (E[0], "up", 5, AS_OF),
        (P[0], "down", 5, AS_OF),
        (E[3], "down", 5, AS_OF),
        (E[3], "up", 8, AS_OF),
        (E[4], "down", 1, AS_OF),
        (E[3], "down", 5, date(2016, 6, 1)),
    ],
)
def test_ownership(graph: GraphStore, start: str, direction: str, depth: int, day: date) -> None:
    paths = graph.ownership(start, direction, max_depth=depth, as_of=day, limit=1000)
    if label_of(start) == "Person":
        # The queried node is an enterprise; a person key finds nothing.
        assert paths == []
        return
    down = direction == "down"
    assert node_ids(paths) == trails(start, "HOLDS_SHARES", down, day, depth)
    for path in paths:
        assert_walks(path, start)
        assert_directed(path, forward=down)
        assert_trail(path)
        assert_valid_edges(path, day)
        assert {e.type for e in path.edges} == {"HOLDS_SHARES"}
        assert path.length <= depth
    assert by_length(paths)


def test_ownership_chain_up_and_down(graph: GraphStore) -> None:
    up = node_ids(graph.ownership(E[2], "up", as_of=AS_OF))
    assert up == sorted(
        [(E[2], E[1]), (E[2], E[1], E[0]), (E[2], E[1], P[1]), (E[2], E[1], E[0], P[0])]
    )
    down = node_ids(graph.ownership(E[0], "down", as_of=AS_OF))
    assert down == [(E[0], E[1]), (E[0], E[1], E[2])]  # not E8: sold in 2020


def test_ownership_cycle_terminates(graph: GraphStore) -> None:
    paths = graph.ownership(E[3], "down", max_depth=8, as_of=AS_OF)
    assert node_ids(paths) == [(E[3], E[4]), (E[3], E[4], E[3])]
    shares = [[e.properties["share"] for e in p.edges] for p in paths]
    assert sorted(shares) == [[0.3], [0.3, 0.25]]


def test_ownership_limit(graph: GraphStore) -> None:
    every = graph.ownership(E[2], "up", as_of=AS_OF)
    some = graph.ownership(E[2], "up", as_of=AS_OF, limit=2)
    assert len(every) == 4
    assert len(some) == 2
    assert [p.length for p in some] == [p.length for p in every[:2]]


# -- guarantee paths ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "direction", "hops", "day"),
    [
        (E[5], "out", 4, AS_OF),
        (E[5], "in", 4, AS_OF),
        (E[6], "out", 1, AS_OF),
        (E[7], "out", 4, AS_OF),
        (E[7], "in", 4, AS_OF),
        (E[0], "out", 4, AS_OF),
        (E[0], "out", 2, AS_OF),
        (E[9], "in", 8, AS_OF),
        (E[0], "in", 4, AS_OF),
        (E[5], "out", 4, date(2027, 6, 1)),
        (E[10], "out", 4, AS_OF),
        (E[10], "out", 4, date(2018, 6, 1)),
        (E[7], "out", 4, date(2019, 6, 1)),
    ],
)
def test_guarantee_paths(
    graph: GraphStore, start: str, direction: str, hops: int, day: date
) -> None:
    paths = graph.guarantee_paths(start, direction, max_hops=hops, as_of=day, limit=1000)
    out = direction == "out"
    assert node_ids(paths) == trails(start, "GUARANTEES", out, day, hops)
    for path in paths:
        assert_walks(path, start)
        assert_directed(path, forward=out)
        assert_trail(path)
        assert_valid_edges(path, day)
        assert path.end.label == "Enterprise"
        assert path.length <= hops
    assert by_length(paths)


def test_guarantee_mutual_pair_and_three_cycle(graph: GraphStore) -> None:
    mutual = node_ids(graph.guarantee_paths(E[5], "out", as_of=AS_OF))
    assert mutual == [(E[5], E[6]), (E[5], E[6], E[5])]
    cycle = node_ids(graph.guarantee_paths(E[7], "out", as_of=AS_OF))
    assert cycle == [(E[7], E[8]), (E[7], E[8], E[9]), (E[7], E[8], E[9], E[7])]
    into = node_ids(graph.guarantee_paths(E[7], "in", as_of=AS_OF))
    assert into == sorted(
        [
            (E[7], E[0]),
            (E[7], E[9]),
            (E[7], E[9], E[8]),
            (E[7], E[9], E[8], E[7]),
            (E[7], E[9], E[8], E[7], E[0]),  # round the cycle once, then out of it
        ]
    )
    # After E5's guarantee of E6 ends, only E6 -> E5 remains.
    late = date(2027, 6, 1)
    assert graph.guarantee_paths(E[5], "out", as_of=late) == []
    assert node_ids(graph.guarantee_paths(E[6], "out", as_of=late)) == [(E[6], E[5])]


def test_guarantee_path_edges_carry_properties(graph: GraphStore) -> None:
    (path,) = graph.guarantee_paths(E[0], "out", max_hops=1, as_of=AS_OF)
    (edge,) = path.edges
    assert (edge.source, edge.target) == (E[0], E[7])
    assert edge.properties["contract_no"] == "GC-005"
    assert edge.properties["amount"] == 6e6
    assert edge.properties["currency"] == "CNY"


def test_guarantee_paths_limit(graph: GraphStore) -> None:
    assert len(graph.guarantee_paths(E[0], "out", as_of=AS_OF)) == 4
    some = graph.guarantee_paths(E[0], "out", as_of=AS_OF, limit=2)
    assert node_ids(some) == [(E[0], E[7]), (E[0], E[7], E[8])]


@pytest.mark.parametrize("hops", [0, -3])
def test_paths_refuse_bad_hops(graph: GraphStore, hops: int) -> None:
    with pytest.raises(ValueError):
        graph.guarantee_paths(E[0], "out", max_hops=hops)
    with pytest.raises(ValueError):
        graph.ownership(E[0], "down", max_depth=hops)


# -- search ---------------------------------------------------------------------------


def graph_ref(i: int) -> NodeRef:
    return NodeRef("Enterprise", E[i], ENTERPRISES[i]["name"])


def test_search_by_exact_id(graph: GraphStore) -> None:
    assert graph.search(E[3]) == [graph_ref(3)]


def test_search_by_name_prefix(graph: GraphStore) -> None:
    found = graph.search("宁波")
    assert sorted(r.id for r in found) == sorted(NINGBO)
    assert all(r.label == "Enterprise" and r.name.startswith("宁波") for r in found)
    assert graph.search("宁波测试丙") == [graph_ref(2)]
    assert {r.id for r in graph.search("杭州测试")} == set(E[6:])


def test_search_limit(graph: GraphStore) -> None:
    found = graph.search("宁波", limit=2)
    assert len(found) == 2
    assert {r.id for r in found} <= set(NINGBO)


@pytest.mark.parametrize("text", [E[3][:10], "测试", "张一", P[0], "nothing"])
def test_search_misses(graph: GraphStore, text: str) -> None:
    # Ids match only whole; names only by prefix; persons are not searched.
    assert graph.search(text) == []


# -- writes ---------------------------------------------------------------------------


def test_write_same_batch_twice_is_idempotent(graph: GraphStore) -> None:
    before = state(graph)
    graph.write(full_batch())
    assert state(graph) == before
    assert graph.counts() == expected_counts()


def test_update_batch_closes_a_relation(graph: GraphStore) -> None:
    held = rel("HOLDS_SHARES", E[1], E[2])
    closed = Rel(
        held.type, held.source, held.target, held.key, held.valid_from, date(2022, 1, 1), held.props
    )
    graph.write(WriteBatch(relations={"HOLDS_SHARES": relation_table("HOLDS_SHARES", [closed])}))
    assert graph.counts() == expected_counts()  # updated, not added
    (item,) = graph.neighbours(E[2], rel_types=("HOLDS_SHARES",)).items
    assert item.edge.properties["valid_to"] == date(2022, 1, 1)
    assert item.edge.properties["share"] == 0.5
    assert graph.ownership(E[2], "up", as_of=AS_OF) == []
    assert len(graph.ownership(E[2], "up", as_of=date(2021, 12, 31))) == 4
    assert node_ids(graph.ownership(E[0], "down", as_of=AS_OF)) == [(E[0], E[1])]
    assert E[2] not in {p.end.id for p in graph.related_parties(E[1], 1, as_of=AS_OF)}


def test_update_leaves_absent_columns_alone(graph: GraphStore) -> None:
    status = pa.table({"id": [E[3]], "status": ["suspended"]})
    held = rel("HOLDS_SHARES", E[3], E[4])
    valid_to = pa.table(
        {
            "_from": [E[3]],
            "_from_label": ["Enterprise"],
            "_to": [E[4]],
            "_to_label": ["Enterprise"],
            "key": [held.key],
            "valid_to": pa.array([date(2023, 1, 1)], pa.date32()),
        }
    )
    graph.write(WriteBatch(nodes={"Enterprise": status}, relations={"HOLDS_SHARES": valid_to}))
    entity = graph.get_entity(E[3])
    assert entity is not None
    assert entity.properties["status"] == "suspended"
    assert entity.properties["name"] == ENTERPRISES[3]["name"]
    assert entity.properties["registered_capital"] == ENTERPRISES[3]["registered_capital"]
    (item,) = graph.neighbours(E[4], ("HOLDS_SHARES",), direction="in").items
    assert item.edge.properties["share"] == 0.3
    assert item.edge.properties["valid_from"] == date(2017, 1, 1)
    assert item.edge.properties["valid_to"] == date(2023, 1, 1)


def test_update_record_end(graph: GraphStore) -> None:
    ended = [dict(r, end=date(2023, 6, 1)) for r in RECORDS if r["id"] == "black_list:HM-1"]
    graph.write(WriteBatch(records=records_table(ended)))
    assert graph.counts() == expected_counts()
    entity = graph.get_entity(E[5])
    assert entity is not None
    (record,) = entity.records
    assert (record["end"], record["reason"]) == (date(2023, 6, 1), "虚假登记")


def test_write_new_rows_in_later_batches(store: GraphStore) -> None:
    # Nodes first, relations and records in later batches, like a loader.
    batch = full_batch()
    store.write(WriteBatch(nodes=batch.nodes))
    for rel_type, table in batch.relations.items():
        store.write(WriteBatch(relations={rel_type: table}))
    assert batch.records is not None
    store.write(WriteBatch(records=batch.records))
    assert store.counts() == expected_counts()


def _new_enterprise_and_rename() -> pa.Table:
    rows = [dict(ENTERPRISES[0], name="改名"), {"id": uscc(50), "name": "新公司"}]
    return node_table("Enterprise", rows)


def _dangling_relation() -> WriteBatch:
    bad = Rel(
        "HOLDS_SHARES", E[5], uscc(98), "enterprise|x", date(2020, 1, 1), None, {"share": 0.1}
    )
    return WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()},
        relations={"HOLDS_SHARES": relation_table("HOLDS_SHARES", [bad])},
    )


def _duplicate_new_keys() -> WriteBatch:
    people = node_table(
        "Person", [{"id": "P" + "a" * 24, "name": "甲"}, {"id": "P" + "a" * 24, "name": "乙"}]
    )
    return WriteBatch(nodes={"Enterprise": _new_enterprise_and_rename(), "Person": people})


def _duplicate_existing_keys() -> WriteBatch:
    people = node_table("Person", [dict(PERSONS[0], name="甲"), dict(PERSONS[0], name="乙")])
    return WriteBatch(nodes={"Enterprise": _new_enterprise_and_rename(), "Person": people})


def _record_of_missing_enterprise() -> WriteBatch:
    record = dict(RECORDS[0], id="inspection:JC-9", record_no="JC-9", enterprise_id=uscc(98))
    return WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()}, records=records_table([record])
    )


def _wrong_labels() -> WriteBatch:
    # A guarantee given by a person: GUARANTEES only ties enterprises.
    bad = relation_table(
        "GUARANTEES",
        [
            Rel(
                "GUARANTEES",
                P[0],
                E[1],
                "GC-X",
                date(2020, 1, 1),
                None,
                {"contract_no": "GC-X", "amount": 1.0},
            )
        ],
    )
    good = relation_table(
        "GUARANTEES",
        [
            Rel(
                "GUARANTEES",
                E[2],
                E[3],
                "GC-Y",
                date(2020, 1, 1),
                None,
                {"contract_no": "GC-Y", "amount": 1.0},
            )
        ],
    )
    return WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()},
        relations={"GUARANTEES": pa.concat_tables([good, bad])},
    )


def _repeated_relation_key() -> WriteBatch:
    new = Rel(
        "GUARANTEES",
        E[2],
        E[3],
        "GC-Y",
        date(2020, 1, 1),
        None,
        {"contract_no": "GC-Y", "amount": 1.0},
    )
    return WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()},
        relations={"GUARANTEES": relation_table("GUARANTEES", [new, new])},
    )


def _relation_without_key() -> WriteBatch:
    new = Rel(
        "GUARANTEES",
        E[2],
        E[3],
        None,
        date(2020, 1, 1),
        None,
        {"contract_no": "GC-Y", "amount": 1.0},
    )
    return WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()},
        relations={"GUARANTEES": relation_table("GUARANTEES", [new])},
    )


BAD_BATCHES = {
    "relation to a missing enterprise": _dangling_relation,
    "duplicate key among new nodes": _duplicate_new_keys,
    "duplicate key among existing nodes": _duplicate_existing_keys,
    "record of a missing enterprise": _record_of_missing_enterprise,
    "relation between labels its type does not allow": _wrong_labels,
    "relation key repeated": _repeated_relation_key,
    "relation without a key": _relation_without_key,
}


@pytest.mark.parametrize("case", list(BAD_BATCHES))
def test_failed_write_changes_nothing(graph: GraphStore, case: str) -> None:
    before = state(graph)
    with pytest.raises(StoreError):
        graph.write(BAD_BATCHES[case]())
    assert state(graph) == before
    assert graph.get_entity(uscc(50)) is None
    # The store is still usable: a good batch lands afterwards.
    graph.write(WriteBatch(nodes={"Enterprise": _new_enterprise_and_rename()}))
    assert graph.get_entity(uscc(50)) is not None
    entity = graph.get_entity(E[0])
    assert entity is not None and entity.properties["name"] == "改名"


def test_malformed_batch_failing_midway_changes_nothing(graph: GraphStore) -> None:
    # Records without their enterprise column: the record nodes can be written, their
    # links cannot, so the failure comes after part of the batch went in.
    records = records_table([dict(RECORDS[0], id="inspection:JC-9", record_no="JC-9")])
    batch = WriteBatch(
        nodes={"Enterprise": _new_enterprise_and_rename()}, records=records.drop(["enterprise_id"])
    )
    before = state(graph)
    with pytest.raises((StoreError, LookupError, ValueError)):
        graph.write(batch)
    assert state(graph) == before


# -- lifetime -------------------------------------------------------------------------


def test_reopen_keeps_the_data(graph: GraphStore, reopen: Reopen) -> None:
    before = state(graph)
    again = reopen()
    again.ensure_schema()  # a second ensure_schema on an existing database is harmless
    assert state(again) == before
    assert node_ids(again.guarantee_paths(E[7], "out", as_of=AS_OF)) == trails(
        E[7], "GUARANTEES", True, AS_OF, 4
    )


def test_read_only_store_refuses_writes(graph: GraphStore, reopen: Reopen) -> None:
    before = state(graph)
    reader = reopen(read_only=True)
    assert state(reader) == before
    with pytest.raises(StoreError):
        reader.write(full_batch())
    with pytest.raises(StoreError):
        reader.write(WriteBatch(nodes={"Enterprise": _new_enterprise_and_rename()}))
    assert state(reader) == before


# -- exports --------------------------------------------------------------------------


def test_export_nodes_pages(graph: GraphStore) -> None:
    day = date(2012, 6, 1)
    pages = list(graph.export_nodes("Enterprise", day, 3))
    assert all(p.num_rows <= 3 for p in pages)
    ids = [i for p in pages for i in p["id"].to_pylist()]
    assert sorted(ids) == sorted(r["id"] for r in ENTERPRISES if r["established_on"] <= day)
    assert len(ids) == len(set(ids)) == 8
    assert "name" in pages[0].column_names
    people = [i for p in graph.export_nodes("Person", day, 2) for i in p["id"].to_pylist()]
    assert sorted(people) == sorted(P)


@pytest.mark.parametrize("day", [date(2016, 6, 1), AS_OF, date(2027, 6, 1)])
def test_export_relations_valid_on_the_day(graph: GraphStore, day: date) -> None:
    for rel_type in REL_TYPES:
        pages = list(graph.export_relations(rel_type, day, 2))
        assert all(p.num_rows <= 2 for p in pages)
        got = Counter(
            (f, t, k)
            for p in pages
            for f, t, k in zip(
                p["_from"].to_pylist(), p["_to"].to_pylist(), p["key"].to_pylist(), strict=True
            )
        )
        want = Counter(
            (r.source, r.target, r.key) for r in RELS if r.type == rel_type and r.valid_on(day)
        )
        assert got == want, rel_type


@pytest.mark.parametrize("day", [date(2016, 6, 1), AS_OF, date(2027, 6, 1)])
def test_export_relations_with_ended_ones(graph: GraphStore, day: date) -> None:
    """``ended``: every relation begun by the day, those that had ended by then too."""
    for rel_type in REL_TYPES:
        pages = list(graph.export_relations(rel_type, day, 2, ended=True))
        got = sorted(k for p in pages for k in p["key"].to_pylist())
        want = sorted(
            r.key
            for r in RELS
            if r.type == rel_type and (r.valid_from is None or r.valid_from <= day)
        )
        assert got == want, rel_type
    assert any(r.valid_to is not None and r.valid_to <= AS_OF for r in RELS)


def test_export_records_started_by_the_day(graph: GraphStore) -> None:
    day = date(2022, 1, 1)
    pages = list(graph.export_records(day, 2))
    assert all(p.num_rows <= 2 for p in pages)
    ids = sorted(i for p in pages for i in p["id"].to_pylist())
    assert ids == sorted(r["id"] for r in RECORDS if r["start"] <= day)
    assert {"kind", "enterprise_id", "start", "end"} <= set(pages[0].column_names)


def test_a_relation_key_cannot_move_to_other_endpoints(graph: GraphStore) -> None:
    # A key names one relation: Neo4j's uniqueness constraint refuses a second one, and the
    # embedded store refuses it too rather than keep the old relation without a word.
    row = relation_table("GUARANTEES", [rel("GUARANTEES", E[7], E[8])])
    moved = row.set_column(row.column_names.index("_to"), "_to", pa.array([E[11]]))
    before = state(graph)
    with pytest.raises(StoreError, match=r"GUARANTEES.*key"):
        graph.write(WriteBatch(relations={"GUARANTEES": moved}))
    assert state(graph) == before


def test_the_person_salt_is_claimed_once(store: GraphStore, reopen: Reopen) -> None:
    store.claim_salt("aaaa")
    store.claim_salt("aaaa")  # the same salt again: fine
    again = reopen()
    again.claim_salt("aaaa")
    with pytest.raises(SaltMismatchError, match="another CREDITGRAPH_PERSON_ID_SALT"):
        again.claim_salt("bbbb")
