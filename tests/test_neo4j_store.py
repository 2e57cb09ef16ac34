"""The Neo4j backend against a driver double: batching, parameters, transactions, paging, the
layout check and error mapping. No server runs here (the contract suite covers a real one when
``CREDITGRAPH_NEO4J_URI`` is set); these tests pin down what the store sends and how it reads
the answers."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any
from unittest.mock import MagicMock

import neo4j
import pyarrow as pa
import pytest
from contract import ENTERPRISES, PERSONS, RECORDS, E, P, node_table, records_table, rel
from contract import relation_table as rel_table
from neo4j.exceptions import (
    AuthError,
    ConstraintError,
    DatabaseUnavailable,
    Forbidden,
    Neo4jError,
    ServiceUnavailable,
    SessionExpired,
    TransientError,
)
from neo4j.time import Date

from graph_model.domain import load_domain
from graph_model.store import layout
from graph_model.store import neo4j_cypher as cy
from graph_model.store.neo4j import (
    PAGE_ROWS,
    Neo4jAuthError,
    Neo4jConstraintError,
    Neo4jStore,
    Neo4jUnavailableError,
    redact_uri,
)
from graph_model.store.protocol import KEY_SEPARATOR, SchemaMismatchError, StoreError, WriteBatch

D = load_domain()
URI = "neo4j://graph.example:7687"
Rows = list[dict[str, Any]]
Answer = Callable[[str, dict[str, Any]], Rows]


def server_error(code: str, message: str = "server says no") -> Neo4jError:
    """An error as the driver builds it from a server's failure (code → exception class)."""
    return Neo4jError._hydrate_neo4j(code=code, message=message)


class FakeNeo4j:
    """A driver double: ``MagicMock(spec=neo4j.Driver)`` whose reads (``execute_query``) and
    transaction statements (``tx.run`` inside ``session.execute_write``) are answered by
    ``answer(query, params)`` and recorded."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.reads: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        self.runs: list[tuple[str, dict[str, Any]]] = []
        self.transactions = 0
        self.tx = MagicMock(spec=neo4j.ManagedTransaction)
        self.tx.run.side_effect = self._run
        session = MagicMock(spec=neo4j.Session)
        session.__enter__.return_value = session
        session.execute_write.side_effect = self._execute_write
        self.driver = MagicMock(spec=neo4j.Driver)
        self.driver.session.return_value = session
        self.driver.execute_query.side_effect = self._execute_query
        self.session = session

    def _run(self, query: str, params: dict[str, Any]) -> list[neo4j.Record]:
        self.runs.append((query, params))
        return [neo4j.Record(r) for r in self.answer(query, params)]

    def _execute_write(self, work: Callable[..., Any], *args: Any) -> Any:
        self.transactions += 1
        return work(self.tx, *args)

    def _execute_query(
        self, query: str, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> neo4j.EagerResult:
        self.reads.append((query, params or {}, kwargs))
        rows = [neo4j.Record(r) for r in self.answer(query, params or {})]
        return neo4j.EagerResult(rows, MagicMock(spec=neo4j.ResultSummary), [])


def writes_everything(existing: frozenset[str] = frozenset()) -> Answer:
    """Every write writes all its rows; ``existing`` are the keys lookups find; counts are 0."""

    def answer(query: str, params: dict[str, Any]) -> Rows:
        if query.startswith("UNWIND $rows"):
            return [{"written": len(params["rows"])}]
        if "RETURN count(" in query:
            return [{"n": 0}]
        if query.startswith("UNWIND $keys"):
            return [{"k": k} for k in params["keys"] if k in existing]
        return []

    return answer


def make_store(answer: Answer, **kwargs: Any) -> tuple[Neo4jStore, FakeNeo4j]:
    fake = FakeNeo4j(answer)
    kwargs.setdefault("database", "creditgraph")
    return Neo4jStore(fake.driver, uri=URI, **kwargs), fake


def used_parameters(query: str) -> set[str]:
    return set(re.findall(r"\$(\w+)", query))


# -- writes ---------------------------------------------------------------------------


def test_a_batch_is_one_transaction_of_unwind_statements() -> None:
    store, fake = make_store(writes_everything(), write_batch_rows=5)
    people = node_table("Person", PERSONS)
    store.write(WriteBatch(nodes={"Enterprise": node_table("Enterprise", ENTERPRISES)}))
    store.write(WriteBatch(nodes={"Person": people}))
    assert fake.transactions == 2
    sizes = [len(p["rows"]) for _, p in fake.runs]
    assert sizes == [5, 5, 2, 5]  # 12 enterprises in statements of 5 rows, then 5 persons
    assert all(q.startswith("UNWIND $rows AS row MERGE (n:") for q, _ in fake.runs)
    fake.driver.session.assert_called_with(database="creditgraph")
    assert fake.driver.execute_query.call_count == 0  # writes never go outside the transaction


def test_rows_become_driver_values() -> None:
    store, fake = make_store(writes_everything())
    store.write(WriteBatch(nodes={"Enterprise": node_table("Enterprise", ENTERPRISES[:1])}))
    ((_, params),) = fake.runs
    (row,) = params["rows"]
    assert row == {k: v for k, v in ENTERPRISES[0].items()}
    assert type(row["established_on"]) is dt.date  # the driver sends it as a Neo4j DATE
    assert type(row["registered_capital"]) is float
    assert row["deregistered_on"] is None


def test_defaults_apply_to_new_rows_and_absent_columns_only() -> None:
    store, fake = make_store(writes_everything())
    store.write(WriteBatch(nodes={"Enterprise": pa.table({"id": [E[0]], "name": ["甲"]})}))
    store.write(WriteBatch(nodes={"Enterprise": node_table("Enterprise", ENTERPRISES[:1])}))
    (short, short_params), (full, full_params) = fake.runs
    # Only the columns a batch carries are set: an update never blanks the others.
    assert "n.`name` = row.`name`" in short and "status" not in short
    assert "ON CREATE SET n += $defaults" in short
    assert short_params["defaults"] == {"status": "active"}
    assert "n.`status` = row.`status`" in full
    assert full_params["defaults"] == {}


def test_relations_are_merged_by_key_per_label_pair() -> None:
    store, fake = make_store(writes_everything())
    held = [rel("HOLDS_SHARES", P[0], E[0]), rel("HOLDS_SHARES", E[0], E[1])]
    guarantee = [rel("GUARANTEES", E[5], E[6])]
    relations = {
        "HOLDS_SHARES": rel_table("HOLDS_SHARES", held),
        "GUARANTEES": rel_table("GUARANTEES", guarantee),
    }
    store.write(WriteBatch(relations=relations))
    assert fake.transactions == 1
    columns = tuple(f.name for f in D.relation("HOLDS_SHARES").property_fields)
    (person, person_params), (firm, _), (guarantees, guarantee_params) = fake.runs
    assert person == cy.merge_relations(D, "HOLDS_SHARES", "Person", "Enterprise", columns)
    assert firm == cy.merge_relations(D, "HOLDS_SHARES", "Enterprise", "Enterprise", columns)
    assert "MERGE (a)-[r:GUARANTEES {`key`: row.`key`}]->(b)" in guarantees
    (row,) = person_params["rows"]
    # Labels are in the statement (from the allowlist), never in the rows.
    assert set(row) == {"_from", "_to", "key", *columns}
    assert (row["_from"], row["_to"], row["key"]) == (P[0], E[0], held[0].key)
    assert row["valid_from"] == held[0].valid_from
    assert guarantee_params["defaults"] == {}  # the currency is carried


def _wrong_pair() -> WriteBatch:
    table = rel_table("GUARANTEES", [rel("GUARANTEES", E[5], E[6])])
    labels = pa.array(["Person"])
    return WriteBatch(relations={"GUARANTEES": table.set_column(1, "_from_label", labels)})


REFUSED_BEFORE_SENDING: dict[str, Callable[[], WriteBatch]] = {
    "repeated node key": lambda: WriteBatch(
        nodes={"Person": node_table("Person", [PERSONS[0], PERSONS[0]])}
    ),
    "node without a key": lambda: WriteBatch(
        nodes={"Person": node_table("Person", [{"id": None, "name": "x"}])}
    ),
    "node table without its key column": lambda: WriteBatch(
        nodes={"Person": pa.table({"name": ["x"]})}
    ),
    "repeated relation key": lambda: WriteBatch(
        relations={"GUARANTEES": rel_table("GUARANTEES", [rel("GUARANTEES", E[5], E[6])] * 2)}
    ),
    "labels the type does not connect": _wrong_pair,
    "relation rows without endpoint labels": lambda: WriteBatch(
        relations={
            "GUARANTEES": rel_table("GUARANTEES", [rel("GUARANTEES", E[5], E[6])]).drop(
                ["_to_label"]
            )
        }
    ),
    "repeated record": lambda: WriteBatch(records=records_table([RECORDS[0], RECORDS[0]])),
}


@pytest.mark.parametrize("case", list(REFUSED_BEFORE_SENDING))
def test_bad_batches_are_refused_before_any_transaction(case: str) -> None:
    store, fake = make_store(writes_everything())
    with pytest.raises(StoreError):
        store.write(REFUSED_BEFORE_SENDING[case]())
    fake.driver.session.assert_not_called()


def test_a_relation_to_a_missing_node_refuses_the_whole_batch() -> None:
    existing = frozenset({E[0], E[1]})

    def answer(query: str, params: dict[str, Any]) -> Rows:
        if query.startswith("UNWIND $rows") and "MERGE (a)-[r:" in query:
            found = [r for r in params["rows"] if {r["_from"], r["_to"]} <= existing]
            return [{"written": len(found)}]
        return writes_everything(existing)(query, params)

    store, fake = make_store(answer)
    held = [rel("HOLDS_SHARES", E[0], E[1]), rel("HOLDS_SHARES", E[1], E[2])]
    batch = WriteBatch(
        nodes={"Enterprise": node_table("Enterprise", ENTERPRISES[:2])},
        relations={"HOLDS_SHARES": rel_table("HOLDS_SHARES", held)},
    )
    with pytest.raises(
        StoreError,
        match=rf"HOLDS_SHARES: 1 referenced node\(s\) do not exist \(Enterprise {E[2]}\)",
    ):
        store.write(batch)
    # Raised out of the transaction function, so the driver rolls the whole batch back.
    assert fake.transactions == 1
    assert fake.runs[0][0].startswith("UNWIND $rows AS row MERGE (n:Enterprise")


def test_a_short_write_with_every_endpoint_present_still_refuses_the_batch() -> None:
    def answer(query: str, params: dict[str, Any]) -> Rows:
        if "MERGE (a)-[r:" in query:
            return [{"written": 0}]
        return writes_everything(frozenset({E[5], E[6]}))(query, params)

    store, _ = make_store(answer)
    guarantee = rel_table("GUARANTEES", [rel("GUARANTEES", E[5], E[6])])
    with pytest.raises(StoreError, match="GUARANTEES: a statement wrote 0 of its 1 rows"):
        store.write(WriteBatch(relations={"GUARANTEES": guarantee}))


def test_records_are_created_with_their_link_or_updated() -> None:
    old = RECORDS[0]["id"]
    store, fake = make_store(writes_everything(frozenset({old})))
    store.write(WriteBatch(records=records_table(RECORDS[:3])))
    (lookup, lookup_params), (create, create_params), (update, update_params) = fake.runs
    assert lookup == cy.existing_keys(D, "Record")
    assert lookup_params["keys"] == [r["id"] for r in RECORDS[:3]]
    assert "CREATE (e)-[:HAS_RECORD]->(n:Record)" in create
    assert [r["id"] for r in create_params["rows"]] == [r["id"] for r in RECORDS[1:3]]
    assert create_params["defaults"] == {}  # the batch carries every column, sector included
    assert update.startswith("UNWIND $rows AS row MATCH (n:Record")
    assert [r["id"] for r in update_params["rows"]] == [old]
    assert "HAS_RECORD" not in update  # an existing record keeps its link, as in the embedded store


def test_a_record_of_a_missing_enterprise_refuses_the_batch() -> None:
    def answer(query: str, params: dict[str, Any]) -> Rows:
        if "CREATE (e)-[:HAS_RECORD]" in query:
            return [{"written": 0}]
        return writes_everything()(query, params)

    store, _ = make_store(answer)
    with pytest.raises(
        StoreError, match=rf"records: 1 referenced node\(s\) do not exist \(Enterprise {E[0]}\)"
    ):
        store.write(WriteBatch(records=records_table(RECORDS[:1])))


def test_new_records_need_their_enterprise() -> None:
    store, _ = make_store(writes_everything())
    table = records_table(RECORDS[:1]).drop(["enterprise_id"])
    with pytest.raises(StoreError, match="without enterprise_id"):
        store.write(WriteBatch(records=table))


def test_an_update_of_existing_records_may_leave_out_the_enterprise() -> None:
    store, fake = make_store(writes_everything(frozenset({RECORDS[0]["id"]})))
    store.write(WriteBatch(records=records_table(RECORDS[:1]).select(["id", "end"])))
    assert fake.runs[-1][0] == cy.update_records(D, ("end",))


def test_the_transaction_function_can_be_run_again() -> None:
    # The driver re-runs the function after a transient error (deadlock, leader switch):
    # the second attempt must send the same statements from the start.
    store, fake = make_store(writes_everything(), write_batch_rows=4)
    attempts: list[int] = []

    def execute_write(work: Callable[..., Any], *args: Any) -> Any:
        attempts.append(len(fake.runs))
        fake.tx.run.side_effect = fail_once
        try:
            return work(fake.tx, *args)
        except TransientError:
            fake.tx.run.side_effect = fake._run
            attempts.append(len(fake.runs))
            return work(fake.tx, *args)

    def fail_once(query: str, params: dict[str, Any]) -> Any:
        fake._run(query, params)
        raise server_error("Neo.TransientError.Transaction.DeadlockDetected")

    fake.session.execute_write.side_effect = execute_write
    store.write(WriteBatch(nodes={"Enterprise": node_table("Enterprise", ENTERPRISES)}))
    first, retried = fake.runs[0], fake.runs[1:]
    assert [len(p["rows"]) for _, p in retried] == [4, 4, 4]
    assert retried[0] == first


def test_an_empty_batch_opens_no_transaction() -> None:
    store, fake = make_store(writes_everything())
    store.write(WriteBatch(nodes={"Person": node_table("Person", [])}))
    fake.driver.session.assert_not_called()


def test_a_read_only_store_refuses_writes() -> None:
    store, fake = make_store(writes_everything(), read_only=True)
    with pytest.raises(StoreError, match="read-only"):
        store.write(WriteBatch(nodes={"Person": node_table("Person", PERSONS)}))
    fake.driver.session.assert_not_called()


def test_every_statement_gets_every_parameter_it_uses() -> None:
    store, fake = make_store(writes_everything(frozenset({RECORDS[0]["id"]})))
    batch = WriteBatch(
        nodes={"Enterprise": node_table("Enterprise", ENTERPRISES)},
        relations={"GUARANTEES": rel_table("GUARANTEES", [rel("GUARANTEES", E[5], E[6])])},
        records=records_table(RECORDS),
    )
    store.write(batch)
    store.counts()
    store.get_entity(E[0])
    store.neighbours(E[0])
    store.related_parties(E[0])
    store.ownership(E[0], "up")
    store.guarantee_paths(E[0], "in")
    store.search("宁波")
    store.existing_keys("Person", pa.array(P))
    for label in ("Enterprise", "Person"):
        list(store.export_nodes(label, dt.date(2024, 1, 1), 10))
    list(store.export_relations("OFFICER", dt.date(2024, 1, 1), 10))
    list(store.export_records(dt.date(2024, 1, 1), 10))
    sent = fake.runs + [(q, p) for q, p, _ in fake.reads]
    assert len(sent) > 20
    for query, params in sent:
        assert used_parameters(query) <= set(params), query


# -- reads ----------------------------------------------------------------------------


def test_reads_are_routed_to_readers_of_the_database() -> None:
    store, fake = make_store(writes_everything())
    store.counts()
    store.get_entity(E[0])
    store.neighbours(E[0])
    store.related_parties(E[0], as_of=dt.date(2024, 1, 1))
    store.search("宁波")
    assert fake.reads
    for _, _, kwargs in fake.reads:
        assert kwargs == {"routing_": neo4j.RoutingControl.READ, "database_": "creditgraph"}


def _answers(table: dict[str, Rows]) -> Answer:
    """Answer reads by the first key of ``table`` found in the statement."""

    def answer(query: str, params: dict[str, Any]) -> Rows:
        for fragment, rows in table.items():
            if fragment in query:
                return rows
        return []

    return answer


def test_entity_properties_are_complete_and_dates_native() -> None:
    record = {
        "id": "penalty:CF-1",
        "kind": "penalty",
        "record_no": "CF-1",
        "start": Date(2023, 5, 1),
        "enterprise_id": E[0],
        "severity": "general",
        "sector": "food",
    }
    props = {
        "id": E[0],
        "name": "甲",
        "established_on": Date(2005, 3, 1),
        "registered_capital": 1.0,
    }
    store, _ = make_store(
        _answers({"MATCH (n:Enterprise": [{"props": props, "records": [record]}]})
    )
    entity = store.get_entity(E[0])
    assert entity is not None
    assert entity.properties["established_on"] == dt.date(2005, 3, 1)
    assert type(entity.properties["established_on"]) is dt.date
    # Neo4j keeps no nulls: absent columns come back as None, as from the embedded store.
    assert entity.properties["deregistered_on"] is None
    assert set(entity.properties) == {f.name for f in layout.node_columns(D, "Enterprise")}
    (got,) = entity.records
    # A record shows only its own kind's fields.
    assert set(got) == {"id", "kind", *(f.name for f in D.record("penalty").fields)}
    assert (got["start"], got["end"], got["amount"]) == (dt.date(2023, 5, 1), None, None)


def test_missing_entity_is_none_after_both_lookups() -> None:
    store, fake = make_store(_answers({}))
    assert store.get_entity("nobody") is None
    assert [q for q, _, _ in fake.reads] == [cy.GET_ENTERPRISE, cy.GET_PERSON]


def _neighbour(i: int) -> dict[str, Any]:
    props = {
        "key": f"k{i}",
        "valid_from": Date(2020, 1, 1),
        "contract_no": f"GC-{i}",
        "amount": 1.0,
    }
    return {
        "type": "GUARANTEES",
        "key": f"k{i}",
        "props": props,
        "source": E[0],
        "target": E[i],
        "id": E[i],
        "name": f"n{i}",
        "label": "Enterprise",
    }


def test_neighbours_pages() -> None:
    store, fake = make_store(_answers({"OPTIONAL MATCH": [_neighbour(i) for i in (1, 2, 3)]}))
    page = store.neighbours(E[0], ("GUARANTEES",), "out", limit=2, offset=4)
    assert [n.node.id for n in page.items] == [E[1], E[2]]
    assert page.next_offset == 6
    (_, params, _) = fake.reads[0]
    assert params == {"id": E[0], "offset": 4, "limit": 3}  # one more row tells if a page follows
    edge = page.items[0].edge
    assert (edge.source, edge.target, edge.type) == (E[0], E[1], "GUARANTEES")
    assert edge.properties["valid_from"] == dt.date(2020, 1, 1)
    assert edge.properties["valid_to"] is None and edge.properties["currency"] is None
    with pytest.raises(ValueError):
        store.neighbours(E[0], limit=0)


def test_paths_are_built_from_the_returned_maps() -> None:
    row = {
        "nodes": [
            {"id": E[0], "name": "甲", "label": "Enterprise"},
            {"id": P[0], "name": "张", "label": "Person"},
        ],
        "rels": [
            {
                "type": "HOLDS_SHARES",
                "source": P[0],
                "target": E[0],
                "props": {"key": "k", "share": 0.6, "valid_from": Date(2015, 1, 1)},
            }
        ],
        "len": 1,
    }
    store, fake = make_store(_answers({"MATCH p =": [row]}))
    (path,) = store.ownership(E[0], "up", max_depth=3, as_of=dt.date(2024, 1, 1), limit=7)
    assert [n.id for n in path.nodes] == [E[0], P[0]]
    (edge,) = path.edges
    assert (edge.source, edge.target, edge.properties["share"]) == (P[0], E[0], 0.6)
    assert edge.properties["valid_from"] == dt.date(2015, 1, 1)
    (query, params, _) = fake.reads[0]
    assert query == cy.ownership(D, "up", 3)
    assert params == {"id": E[0], "as_of": dt.date(2024, 1, 1), "limit": 7, "sep": KEY_SEPARATOR}


def test_path_queries_default_to_today_and_refuse_bad_hops() -> None:
    store, fake = make_store(_answers({}))
    store.guarantee_paths(E[0])
    assert fake.reads[0][1]["as_of"] == dt.date.today()
    with pytest.raises(ValueError):
        store.related_parties(E[0], max_hops=layout.MAX_HOPS + 1)
    assert len(fake.reads) == 1


def test_existing_keys_are_looked_up_in_batches() -> None:
    store, fake = make_store(writes_everything(frozenset({E[1], E[4]})), write_batch_rows=2)
    found = store.existing_keys("Enterprise", pa.array(E[:5]))
    assert found.to_pylist() == [False, True, False, False, True]
    assert [p["keys"] for _, p, _ in fake.reads] == [E[0:2], E[2:4], E[4:5]]


def test_counts() -> None:
    store, _ = make_store(
        _answers({"RETURN r.kind": [{"kind": "penalty", "n": 3}], "count(": [{"n": 2}]})
    )
    counts = store.counts()
    assert counts.nodes == {"Enterprise": 2, "Person": 2}
    assert counts.records["penalty"] == 3 and counts.records["inspection"] == 0
    assert set(counts.relations) == {r.type for r in D.relations}


# -- exports --------------------------------------------------------------------------


def keyset(rows: Rows, key: str) -> Answer:
    """A server that answers keyset pages over ``rows`` (sorted by ``key``)."""

    def answer(query: str, params: dict[str, Any]) -> Rows:
        after = params.get("after")
        assert ("$after" in query) == (after is not None)
        later = [r for r in rows if after is None or r[key] > after]
        return later[: params["limit"]]

    return answer


def _people(n: int) -> Rows:
    return [
        {
            "id": f"P{i:03d}",
            "source_id": None,
            "name": f"p{i}",
            "identity": "id_number",
            "scope": None,
        }
        for i in range(n)
    ]


@pytest.mark.parametrize(("n", "pages"), [(0, [0]), (5, [2, 2, 1]), (6, [2, 2, 2]), (1, [1])])
def test_exports_page_by_key(n: int, pages: list[int]) -> None:
    store, fake = make_store(keyset(_people(n), "id"))
    got = list(store.export_nodes("Person", dt.date(2024, 1, 1), 2))
    assert [p.num_rows for p in got] == pages
    assert [i for p in got for i in p["id"].to_pylist()] == [r["id"] for r in _people(n)]
    columns = [f.name for f in layout.node_columns(D, "Person")]
    assert all(p.schema.names == columns for p in got)
    # Each page is its own bounded read: after the last key seen, never SKIP.
    afters = [params.get("after") for _, params, _ in fake.reads]
    assert afters[0] is None
    assert afters[1:] == [f"P{i:03d}" for i in range(1, n, 2)][: len(afters) - 1]
    assert all(params["limit"] == 2 for _, params, _ in fake.reads)
    assert all("SKIP" not in q for q, _, _ in fake.reads)


def test_export_pages_stay_bounded_whatever_the_caller_asks() -> None:
    store, fake = make_store(keyset(_people(3), "id"))
    (page,) = store.export_nodes("Person", dt.date(2024, 1, 1), 10**7)
    assert page.num_rows == 3
    assert fake.reads[0][1]["limit"] == PAGE_ROWS


def test_exported_columns_have_the_domain_types() -> None:
    row = {f.name: None for f in layout.relation_columns(D, "GUARANTEES")}
    row |= {
        "_from": E[0],
        "_from_label": "Enterprise",
        "_to": E[1],
        "_to_label": "Enterprise",
        "key": "k",
        "amount": 5.0,
        "valid_from": Date(2020, 1, 1),
    }
    store, _ = make_store(keyset([row], "key"))
    (page,) = store.export_relations("GUARANTEES", dt.date(2024, 1, 1), 10)
    assert page.schema.field("valid_from").type == pa.date32()
    assert page.schema.field("defaulted_on").type == pa.date32()
    assert page.schema.field("amount").type == pa.float64()
    assert page.column_names[:5] == ["_from", "_from_label", "_to", "_to_label", "key"]
    assert page["valid_from"].to_pylist() == [dt.date(2020, 1, 1)]


def test_empty_exports_keep_their_columns() -> None:
    store, _ = make_store(_answers({}))
    (records,) = store.export_records(dt.date(2024, 1, 1), 10)
    assert records.num_rows == 0
    assert records.schema.names == [f.name for f in layout.node_columns(D, "Record")]
    with pytest.raises(ValueError):
        list(store.export_records(dt.date(2024, 1, 1), 0))


# -- schema ---------------------------------------------------------------------------


def _meta(value: str | None) -> Answer:
    return _answers(
        {"CreditGraphMeta {name: $name}) RETURN": [] if value is None else [{"value": value}]}
    )


def _fingerprint() -> str:
    store, fake = make_store(_meta(None))
    store.ensure_schema()
    (_, params), *_ = [(q, p) for q, p, _ in fake.reads if q == cy.SET_META]
    return str(params["value"])


def test_ensure_schema_creates_constraints_then_marks_the_database() -> None:
    store, fake = make_store(_meta(None))
    store.ensure_schema()
    sent = [q for q, _, _ in fake.reads]
    assert sent == [cy.GET_META, *cy.schema_statements(D), cy.SET_META]
    # Schema changes go to the writer (the default routing), in the configured database.
    for _, _, kwargs in fake.reads[1:]:
        assert kwargs == {"database_": "creditgraph"}


def test_ensure_schema_again_only_adds_what_is_missing() -> None:
    store, fake = make_store(_meta(_fingerprint()))
    store.ensure_schema()
    sent = [q for q, _, _ in fake.reads]
    assert sent == [cy.GET_META, *cy.schema_statements(D)]


def test_a_database_of_another_layout_is_refused() -> None:
    store, fake = make_store(_meta("0123456789abcdef"))
    with pytest.raises(SchemaMismatchError, match="another domain layout"):
        store.ensure_schema()
    assert len(fake.reads) == 1


def test_read_only_ensure_schema_only_checks() -> None:
    store, fake = make_store(_meta(_fingerprint()), read_only=True)
    store.ensure_schema()
    assert [q for q, _, _ in fake.reads] == [cy.GET_META]
    empty, _ = make_store(_meta(None), read_only=True)
    with pytest.raises(StoreError, match="creditgraph load"):
        empty.ensure_schema()


# -- errors ---------------------------------------------------------------------------

ERRORS: list[tuple[Exception, type[StoreError], str]] = [
    (
        server_error("Neo.ClientError.Security.Unauthorized", "The client is unauthorized"),
        Neo4jAuthError,
        "CREDITGRAPH_NEO4J_PASSWORD",
    ),
    (server_error("Neo.ClientError.Security.Forbidden"), Neo4jAuthError, "constraints"),
    (
        ServiceUnavailable("Couldn't connect to graph.example:7687"),
        Neo4jUnavailableError,
        "server is running",
    ),
    (SessionExpired("connection lost"), Neo4jUnavailableError, "CREDITGRAPH_NEO4J_URI"),
    (
        server_error("Neo.TransientError.General.DatabaseUnavailable"),
        Neo4jUnavailableError,
        "SHOW DATABASES",
    ),
    (
        server_error("Neo.ClientError.Schema.ConstraintValidationFailed", "already exists"),
        Neo4jConstraintError,
        "nothing was written: already exists",
    ),
    (
        server_error("Neo.ClientError.Database.DatabaseNotFound"),
        StoreError,
        "CREDITGRAPH_NEO4J_DATABASE",
    ),
    (
        server_error("Neo.ClientError.General.TransactionOutOfMemoryError"),
        StoreError,
        "CREDITGRAPH_LOAD_BATCH_ROWS",
    ),
    (
        server_error("Neo.TransientError.General.MemoryPoolOutOfMemoryError"),
        StoreError,
        "CREDITGRAPH_LOAD_BATCH_ROWS",
    ),
    (
        server_error("Neo.ClientError.Statement.SyntaxError", "bad"),
        StoreError,
        "Neo.ClientError.Statement.SyntaxError: bad",
    ),
]


def test_the_error_table_covers_the_driver_classes() -> None:
    kinds = {type(e) for e, _, _ in ERRORS}
    assert {
        AuthError,
        Forbidden,
        ServiceUnavailable,
        SessionExpired,
        DatabaseUnavailable,
        ConstraintError,
    } <= kinds


def _raising(exc: Exception) -> Callable[..., Any]:
    def fail(*args: Any, **kwargs: Any) -> Any:
        raise exc

    return fail


@pytest.mark.parametrize(
    ("exc", "kind", "hint"), ERRORS, ids=[type(e[0]).__name__ + ":" + e[2] for e in ERRORS]
)
def test_driver_errors_become_store_errors_naming_the_server(
    exc: Exception, kind: type[StoreError], hint: str
) -> None:
    uri = "neo4j://ops:hunter2@graph.example:7687"
    reading = Neo4jStore(MagicMock(spec=neo4j.Driver), uri=uri, database="creditgraph")
    reading._driver.execute_query.side_effect = _raising(exc)  # type: ignore[attr-defined]
    with pytest.raises(kind, match=re.escape(hint)) as raised:
        reading.counts()
    message = str(raised.value)
    assert "neo4j://graph.example:7687" in message and "'creditgraph'" in message
    assert "hunter2" not in message
    assert raised.value.__cause__ is exc
    # Writes map the same way, whatever part of the transaction fails.
    fake = FakeNeo4j(writes_everything())
    fake.session.execute_write.side_effect = _raising(exc)
    writing = Neo4jStore(fake.driver, uri=uri, database="creditgraph")
    with pytest.raises(kind, match=re.escape(hint)):
        writing.write(WriteBatch(nodes={"Person": node_table("Person", PERSONS)}))


def test_redact_uri() -> None:
    assert redact_uri("neo4j://a:b@host:7687/x?y=1") == "neo4j://host:7687/x?y=1"
    assert redact_uri("neo4j+s://host") == "neo4j+s://host"
    assert redact_uri("bolt://user@host") == "bolt://host"
    assert redact_uri("bolt://u:p@[::1]:7687") == "bolt://[::1]:7687"


# -- lifetime -------------------------------------------------------------------------


def test_close_leaves_an_injected_driver_open() -> None:
    store, fake = make_store(_answers({}))
    with store:
        pass
    fake.driver.close.assert_not_called()
    owner, fake = make_store(_answers({}), owns_driver=True)
    owner.close()
    fake.driver.close.assert_called_once_with()


def test_write_batch_rows_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Neo4jStore(MagicMock(spec=neo4j.Driver), write_batch_rows=0)
