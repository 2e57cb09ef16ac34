"""The LadybugDB Cypher builders: the domain allowlist, hop bounds, quoting, and every
statement they can produce, for every label and relation type, run by a real LadybugDB."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import ladybug as lb
import pyarrow as pa
import pytest

from graph_model.domain import FieldSpec, load_domain
from graph_model.store import ladybug_cypher as cy
from graph_model.store import layout
from graph_model.store.protocol import KEY_SEPARATOR

D = load_domain()
LABELS = D.labels
REL_TYPES = D.relation_types
KEYED = tuple(r.type for r in D.relations)  # every type but HAS_RECORD
AS_OF = date(2024, 1, 1)

# Names an input might try to slip into a query.
BAD_NAMES = [
    "Nope",
    "enterprise",
    "Enterprise) DETACH DELETE (n",
    "GUARANTEES]->() DELETE r //",
    "Enterprise`",
    "GUARANTEES|OFFICER",
    "",
]

LABEL_BUILDERS: dict[str, Callable[[str], object]] = {
    "node_columns": lambda x: layout.node_columns(D, x),
    "create_node_table": lambda x: cy.create_node_table(D, x),
    "copy_nodes": lambda x: cy.copy_nodes(D, x),
    "update_nodes": lambda x: cy.update_nodes(D, x, ("name",)),
    "existing_node_keys": lambda x: cy.existing_node_keys(D, x),
    "count_nodes": lambda x: cy.count_nodes(D, x),
    "export_nodes": lambda x: cy.export_nodes(D, x),
    "copy_relations from": lambda x: cy.copy_relations(D, "LEGAL_REP", x, "Enterprise"),
    "copy_relations to": lambda x: cy.copy_relations(D, "LEGAL_REP", "Person", x),
    "update_relations from": lambda x: cy.update_relations(
        D, "GUARANTEES", x, "Enterprise", ("amount",)
    ),
    "update_relations to": lambda x: cy.update_relations(
        D, "GUARANTEES", "Enterprise", x, ("amount",)
    ),
}

REL_BUILDERS: dict[str, Callable[[str], object]] = {
    "relation_columns": lambda t: layout.relation_columns(D, t),
    "relation_pairs": lambda t: layout.relation_pairs(D, t),
    "create_rel_table": lambda t: cy.create_rel_table(D, t),
    "copy_relations": lambda t: cy.copy_relations(D, t, "Enterprise", "Enterprise"),
    "update_relations": lambda t: cy.update_relations(
        D, t, "Enterprise", "Enterprise", ("valid_to",)
    ),
    "all_relation_keys": lambda t: cy.all_relation_keys(D, t),
    "count_relations": lambda t: cy.count_relations(D, t),
    "export_relations": lambda t: cy.export_relations(D, t),
    "neighbours": lambda t: cy.neighbours(D, (t,), "both"),
    "neighbours among others": lambda t: cy.neighbours(D, ("LEGAL_REP", t), "out"),
}

HOP_BUILDERS: dict[str, Callable[[Any], str]] = {
    "related_parties": lambda h: cy.related_parties(D, h),
    "ownership up": lambda h: cy.ownership(D, "up", h),
    "ownership down": lambda h: cy.ownership(D, "down", h),
    "guarantee_paths out": lambda h: cy.guarantee_paths(D, "out", h),
    "guarantee_paths in": lambda h: cy.guarantee_paths(D, "in", h),
}


# -- refusals -------------------------------------------------------------------------


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("builder", list(LABEL_BUILDERS))
def test_labels_outside_the_allowlist_are_refused(builder: str, name: str) -> None:
    with pytest.raises(ValueError, match=r"allowlist|does not connect"):
        LABEL_BUILDERS[builder](name)


@pytest.mark.parametrize("name", BAD_NAMES)
@pytest.mark.parametrize("builder", list(REL_BUILDERS))
def test_relation_types_outside_the_allowlist_are_refused(builder: str, name: str) -> None:
    with pytest.raises(ValueError, match="allowlist"):
        REL_BUILDERS[builder](name)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.all_relation_keys(D, "HAS_RECORD"),
        lambda: cy.export_relations(D, "HAS_RECORD"),
        lambda: cy.neighbours(D, ("HAS_RECORD",), "both"),
        lambda: cy.neighbours(D, ("GUARANTEES", "HAS_RECORD"), "out"),
        lambda: cy.update_relations(D, "HAS_RECORD", "Enterprise", "Record", ("key",)),
    ],
    ids=["all_relation_keys", "export_relations", "neighbours", "neighbours among", "update"],
)
def test_has_record_is_refused_where_a_key_or_validity_is_needed(build: Callable) -> None:
    # HAS_RECORD is allowlisted for the schema and the record links, but has no
    # key and no validity, so these statements would not bind.
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.copy_relations(D, "GUARANTEES", "Person", "Enterprise"),
        lambda: cy.copy_relations(D, "LEGAL_REP", "Enterprise", "Person"),
        lambda: cy.copy_relations(D, "HAS_RECORD", "Record", "Enterprise"),
        lambda: cy.update_relations(D, "OFFICER", "Enterprise", "Enterprise", ("role",)),
    ],
    ids=["person guarantor", "reversed", "record to enterprise", "enterprise officer"],
)
def test_label_pairs_a_relation_does_not_connect_are_refused(build: Callable) -> None:
    with pytest.raises(ValueError, match="does not connect"):
        build()


@pytest.mark.parametrize("hops", [0, -1, layout.MAX_HOPS + 1, 100, True, 2.0, "3", None])
@pytest.mark.parametrize("builder", list(HOP_BUILDERS))
def test_hop_counts_outside_the_bounds_are_refused(builder: str, hops: object) -> None:
    with pytest.raises(ValueError, match="hops"):
        HOP_BUILDERS[builder](hops)


@pytest.mark.parametrize("hops", [1, 2, layout.MAX_HOPS])
@pytest.mark.parametrize("builder", list(HOP_BUILDERS))
def test_hop_counts_within_the_bounds_are_written_as_literals(builder: str, hops: int) -> None:
    assert f" 1..{hops} " in HOP_BUILDERS[builder](hops)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.neighbours(D, ("LEGAL_REP",), "up"),
        lambda: cy.neighbours(D, ("LEGAL_REP",), "BOTH"),
        lambda: cy.neighbours(D, (), "both"),
        lambda: cy.ownership(D, "out", 2),
        lambda: cy.ownership(D, "UP", 2),
        lambda: cy.guarantee_paths(D, "up", 2),
        lambda: cy.guarantee_paths(D, "", 2),
    ],
)
def test_unknown_directions_are_refused(build: Callable) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.update_nodes(D, "Enterprise", ("nope",)),
        lambda: cy.update_nodes(D, "Enterprise", ("id",)),  # the key is matched, never set
        lambda: cy.update_nodes(D, "Enterprise", ("name = 1, n.status",)),
        lambda: cy.update_nodes(D, "Person", ()),
        lambda: cy.update_relations(D, "GUARANTEES", "Enterprise", "Enterprise", ("key",)),
        lambda: cy.update_relations(D, "GUARANTEES", "Enterprise", "Enterprise", ("share",)),
        lambda: cy.update_relations(D, "LEGAL_REP", "Person", "Enterprise", ()),
    ],
)
def test_update_columns_must_be_stored_properties(build: Callable) -> None:
    with pytest.raises(ValueError):
        build()


# -- quoting --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["end", "start", "valid_from", "id", "名称"])
def test_q_backquotes_names(name: str) -> None:
    assert layout.q(name) == f"`{name}`"


@pytest.mark.parametrize("name", ["a`b", "a b", "a-b", "a.b", "a)", "", "`"])
def test_q_refuses_what_is_not_a_property_name(name: str) -> None:
    with pytest.raises(ValueError):
        layout.q(name)


@pytest.mark.parametrize("label", LABELS)
def test_node_property_names_are_quoted(label: str) -> None:
    cols = [f.name for f in layout.node_columns(D, label)]
    ddl = cy.create_node_table(D, label)
    export = cy.export_nodes(D, label)
    for name in cols:
        assert f"`{name}` " in ddl
        assert f"n.`{name}` AS `{name}`" in export
    assert f"PRIMARY KEY (`{cols[0]}`)" in ddl
    update = cy.update_nodes(D, label, tuple(cols[1:]))
    for name in cols[1:]:
        assert f"n.`{name}` = `{name}`" in update


@pytest.mark.parametrize("rel_type", KEYED)
def test_relation_property_names_are_quoted(rel_type: str) -> None:
    cols = [f.name for f in layout.relation_columns(D, rel_type)]
    ddl = cy.create_rel_table(D, rel_type)
    export = cy.export_relations(D, rel_type)
    (a, b), *_ = layout.relation_pairs(D, rel_type)
    update = cy.update_relations(D, rel_type, a, b, tuple(cols[1:]))
    for name in cols:
        assert f"`{name}` " in ddl
        assert f"r.`{name}` AS `{name}`" in export
    for name in cols[1:]:
        assert f"r.`{name}` = `{name}`" in update


def test_record_dates_are_quoted() -> None:
    # ``end`` is a Cypher keyword: unquoted it would not parse.
    assert "r.`end` AS `end`" in cy.export_records(D)
    assert "r.`start` <= $as_of" in cy.export_records(D)
    assert "r.`start`" in cy.GET_RECORDS


# -- every statement, run by LadybugDB -------------------------------------------------


def _value(f: FieldSpec, serial: int) -> object:
    t = f.storage_type
    if t == "date":
        return date(2020, 1, serial)
    if t == "float":
        return float(serial)
    if t == "bool":
        return serial % 2 == 0
    return f"{f.name}-{serial}"


def _table(fields: list[tuple[str, pa.DataType]], rows: list[dict[str, Any]]) -> pa.Table:
    schema = pa.schema(fields)
    return pa.Table.from_pylist([{n: r.get(n) for n in schema.names} for r in rows], schema)


def node_rows(label: str, serial: int = 1) -> pa.Table:
    """Two rows of ``label`` in DDL order, keyed ``<label>:1`` and ``<label>:2``."""
    cols = layout.node_columns(D, label)
    rows = [
        {cols[0].name: f"{label}:{i}", **{f.name: _value(f, serial) for f in cols[1:]}}
        for i in (1, 2)
    ]
    return _table([(f.name, f.arrow_type) for f in cols], rows)


def relation_rows(rel_type: str, a: str, b: str, serial: int = 1) -> pa.Table:
    """One relation from ``<a>:1`` to ``<b>:2``, valid from 2020-01-01 and still open."""
    cols = layout.relation_columns(D, rel_type)
    row: dict[str, Any] = {"_from": f"{a}:1", "_to": f"{b}:2"}
    row |= {f.name: _value(f, serial) for f in cols}
    if cols:
        row |= {"key": f"{rel_type}|{a}|{b}", "valid_from": date(2020, 1, 1), "valid_to": None}
    fields = [("_from", pa.string()), ("_to", pa.string())]
    return _table(fields + [(f.name, f.arrow_type) for f in cols], [row])


@pytest.fixture(scope="module")
def conn(tmp_path_factory: pytest.TempPathFactory) -> Iterator[lb.Connection]:
    """A database built by the builders' DDL and COPY statements, with one row per table."""
    path: Path = tmp_path_factory.mktemp("builders") / "db"
    db = lb.Database(str(path))
    connection = lb.Connection(db)
    connection.execute(cy.CREATE_META)
    for label in LABELS:
        connection.execute(cy.create_node_table(D, label))
        # IF NOT EXISTS: running the DDL again is harmless.
        connection.execute(cy.create_node_table(D, label))
    for rel_type in REL_TYPES:
        connection.execute(cy.create_rel_table(D, rel_type))
    for label in LABELS:
        connection.execute(cy.copy_nodes(D, label), {"rows": node_rows(label)})
    for rel_type in REL_TYPES:
        for a, b in layout.relation_pairs(D, rel_type):
            rows = relation_rows(rel_type, a, b)
            connection.execute(cy.copy_relations(D, rel_type, a, b), {"rows": rows})
    yield connection
    connection.close()
    db.close()


def rows(conn: lb.Connection, query: str, params: dict[str, Any] | None = None) -> list:
    return list(conn.execute(query, params or {}).get_all())


def test_schema_has_every_table(conn: lb.Connection) -> None:
    tables = {row[1] for row in rows(conn, "CALL show_tables() RETURN *")}
    assert tables == {"Meta", *LABELS, *REL_TYPES}


def test_meta(conn: lb.Connection) -> None:
    rows(conn, cy.SET_META, {"name": "schema", "value": "abc"})
    rows(conn, cy.SET_META, {"name": "schema", "value": "def"})
    assert rows(conn, cy.GET_META, {"name": "schema"}) == [["def"]]


@pytest.mark.parametrize("label", LABELS)
def test_copied_nodes_are_counted_and_found(conn: lb.Connection, label: str) -> None:
    assert rows(conn, cy.count_nodes(D, label)) == [[2]]
    keys = pa.table({"k": [f"{label}:2", "missing"]})
    assert rows(conn, cy.existing_node_keys(D, label), {"rows": keys}) == [[f"{label}:2"]]


@pytest.mark.parametrize("rel_type", REL_TYPES)
def test_copied_relations_are_counted(conn: lb.Connection, rel_type: str) -> None:
    assert rows(conn, cy.count_relations(D, rel_type)) == [
        [len(layout.relation_pairs(D, rel_type))]
    ]


@pytest.mark.parametrize("rel_type", KEYED)
def test_all_relation_keys(conn: lb.Connection, rel_type: str) -> None:
    keys = {k for (k, _, _) in rows(conn, cy.all_relation_keys(D, rel_type))}
    assert keys == {f"{rel_type}|{a}|{b}" for a, b in layout.relation_pairs(D, rel_type)}


@pytest.mark.parametrize("label", LABELS)
def test_update_nodes(conn: lb.Connection, label: str) -> None:
    cols = layout.node_columns(D, label)
    names = tuple(f.name for f in cols[1:])
    rows(conn, cy.update_nodes(D, label, names), {"rows": node_rows(label, serial=3)})
    exported = conn.execute(cy.export_nodes(D, label), {"as_of": AS_OF}).get_as_arrow()
    assert exported.num_rows == 2
    for f in cols[1:]:
        assert set(exported[f.name].to_pylist()) == {_value(f, 3)}, f.name


@pytest.mark.parametrize(
    ("rel_type", "pair"), [(t, p) for t in KEYED for p in layout.relation_pairs(D, t)]
)
def test_update_relations(conn: lb.Connection, rel_type: str, pair: tuple[str, str]) -> None:
    cols = layout.relation_columns(D, rel_type)
    names = tuple(f.name for f in cols[1:])
    query = cy.update_relations(D, rel_type, *pair, names)
    rows(conn, query, {"rows": relation_rows(rel_type, *pair, serial=3)})
    exported = conn.execute(
        cy.export_relations(D, rel_type), {"as_of": AS_OF, "ended": False}
    ).get_as_arrow()
    (row,) = [r for r in exported.to_pylist() if (r["_from_label"], r["_to_label"]) == pair]
    for f in cols[1:]:
        if f.name not in ("valid_from", "valid_to", "defaulted_on"):
            assert row[f.name] == _value(f, 3), f.name


def read_statements() -> Iterator[Any]:
    """(query, parameters) of every read the builders and constants can produce."""
    as_of = {"as_of": AS_OF}
    page = {"id": "Enterprise:1", "offset": 0, "limit": 10}
    paths = {"id": "Enterprise:1", "as_of": AS_OF, "limit": 10, "sep": KEY_SEPARATOR}
    for label in LABELS:
        yield pytest.param(cy.export_nodes(D, label), as_of, id=f"export_nodes-{label}")
    for rel_type in KEYED:
        yield pytest.param(
            cy.export_relations(D, rel_type), as_of | {"ended": True}, id=f"export-{rel_type}"
        )
        for direction in ("out", "in", "both"):
            query = cy.neighbours(D, (rel_type,), direction)
            yield pytest.param(query, page, id=f"neighbours-{rel_type}-{direction}")
    for direction in ("out", "in", "both"):
        yield pytest.param(cy.neighbours(D, KEYED, direction), page, id=f"neighbours-{direction}")
        for label in LABELS:
            query = cy.neighbours(D, KEYED, direction, label)
            yield pytest.param(query, page, id=f"neighbours-{label}-{direction}")
    for hops in range(1, layout.MAX_HOPS + 1):
        for name, build in HOP_BUILDERS.items():
            yield pytest.param(build(hops), paths, id=f"{name}-{hops}")
    yield pytest.param(cy.export_records(D), as_of, id="export_records")
    yield pytest.param(cy.COUNT_RECORDS_BY_KIND, {}, id="COUNT_RECORDS_BY_KIND")
    yield pytest.param(cy.GET_ENTERPRISE, {"id": "Enterprise:1"}, id="GET_ENTERPRISE")
    yield pytest.param(cy.GET_PERSON, {"id": "Person:1"}, id="GET_PERSON")
    yield pytest.param(cy.GET_RECORDS, {"id": "Enterprise:1"}, id="GET_RECORDS")
    yield pytest.param(cy.SEARCH, {"text": "name", "limit": 5}, id="SEARCH")


@pytest.mark.parametrize(("query", "params"), list(read_statements()))
def test_read_statement_runs(conn: lb.Connection, query: str, params: dict[str, Any]) -> None:
    rows(conn, query, params)


def test_reads_find_the_copied_rows(conn: lb.Connection) -> None:
    page = {"id": "Enterprise:1", "offset": 0, "limit": 10}
    found = rows(conn, cy.neighbours(D, ("GUARANTEES",), "out"), page)
    assert [(b["id"], t) for _, b, t in found] == [("Enterprise:2", "GUARANTEES")]
    paths = {"id": "Enterprise:1", "as_of": AS_OF, "limit": 10, "sep": KEY_SEPARATOR}
    (path,) = rows(conn, cy.guarantee_paths(D, "out", 2), paths)
    assert [n["id"] for n in path[0]] == ["Enterprise:1", "Enterprise:2"]
    records = rows(conn, cy.GET_RECORDS, {"id": "Enterprise:1"})
    assert [r[0]["id"] for r in records] == ["Record:2"]
    assert rows(conn, cy.SEARCH, {"text": "Enterprise:1", "limit": 5})[0][0] == "Enterprise:1"


@pytest.mark.parametrize("end", [cy.COMMIT, cy.ROLLBACK])
def test_transaction_statements(conn: lb.Connection, end: str) -> None:
    rows(conn, cy.BEGIN)
    rows(conn, cy.count_nodes(D, "Enterprise"))
    rows(conn, end)
