"""Every Cypher statement the Neo4j backend can send, checked by Neo4j's own Cypher front end.

No Neo4j server runs here, so the statements are linted by the npm package
``@neo4j-cypher/language-support`` (by Neo4j, Apache-2.0; version pinned in
``tests/cypher_lint/package-lock.json``, installed by ``./dev test``). Each statement is
built by its builder with representative arguments for every allowlisted label and
relation type, and linted as Cypher 5 with exactly its own parameters declared and the
domain's labels, relation types and properties as the schema. Any diagnostic fails the
test: errors, deprecations, and warnings such as an unknown property (a typo). The
harness runs once for all statements, and must catch deliberately bad ones, so that a
harness gone blind cannot pass.
"""

from __future__ import annotations

import inspect
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graph_model.domain import FieldSpec, load_domain
from graph_model.store import layout
from graph_model.store import neo4j_cypher as ncy
from graph_model.store.layout import node_columns, relation_columns, relation_pairs
from graph_model.store.protocol import KEY_SEPARATOR

HARNESS = Path(__file__).parent / "cypher_lint"
D = load_domain()
KEYED = tuple(r.type for r in D.relations)
DAY = "2024-01-01"

# Statements the harness must flag, and how: proof that it can fail.
SELF_CHECKS: dict[str, tuple[str, dict[str, Any], str]] = {
    "selfcheck-syntax-error": ("MATC (n:Enterprise) RETURN n", {}, "error"),
    "selfcheck-neo4j-4-constraint": (
        "CREATE CONSTRAINT c IF NOT EXISTS ON (n:Enterprise) ASSERT n.id IS UNIQUE",
        {},
        "error",
    ),
    "selfcheck-undeclared-parameter": ("MATCH (n:Enterprise {id: $nope}) RETURN n", {}, "error"),
    "selfcheck-deprecated-function": ("MATCH (n:Enterprise) RETURN id(n) AS i", {}, "deprecated"),
    "selfcheck-deprecated-subquery": (
        "MATCH (n:Enterprise) CALL { WITH n RETURN n.name AS m } RETURN m",
        {},
        "deprecated",
    ),
    "selfcheck-unknown-property": ("MATCH (n:Enterprise) RETURN n.nmae AS x", {}, "warning"),
    "selfcheck-unknown-function": ("MATCH (n:Enterprise) RETURN lables(n) AS x", {}, "error"),
    "selfcheck-wrong-endpoints": (
        "MATCH (a:Enterprise)-[r:LEGAL_REP]->(b:Enterprise) RETURN r",
        {},
        "warning",
    ),
}


def _example(f: FieldSpec) -> Any:
    t = f.storage_type
    return {"date": DAY, "float": 1.5, "bool": True}.get(t, f"{f.name}-1")


def _row(fields: tuple[FieldSpec, ...], **extra: Any) -> dict[str, Any]:
    return {**{f.name: _example(f) for f in fields}, **extra}


def _names(fields: tuple[FieldSpec, ...]) -> tuple[str, ...]:
    return tuple(f.name for f in fields)


def statements() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(name, statement, parameters) for every statement the backend can send.

    The name starts with the builder or constant that made it.
    """
    for i, statement in enumerate(ncy.schema_statements(D)):
        yield f"schema_statements[{i}]", statement, {}
    yield "GET_META", ncy.GET_META, {"name": "schema"}
    yield "SET_META", ncy.SET_META, {"name": "schema", "value": "abc"}

    for label in D.labels:
        cols = node_columns(D, label)
        rows = [_row(cols)]
        for what, columns in (("all", _names(cols[1:])), ("one", _names(cols[1:2])), ("key", ())):
            query = ncy.merge_nodes(D, label, columns)
            yield f"merge_nodes[{label},{what}]", query, {"rows": rows, "defaults": {}}
        yield f"existing_keys[{label}]", ncy.existing_keys(D, label), {"keys": ["x"]}
        query = ncy.node_values(D, label, cols[1].name)
        yield f"node_values[{label}]", query, {"keys": ["x"]}
        yield f"count_nodes[{label}]", ncy.count_nodes(D, label), {}
        for after in (False, True):
            query = ncy.export_nodes(D, label, after)
            params = {"limit": 10} | ({"after": "x"} if after else {})
            if label == "Enterprise":
                params["as_of"] = DAY
            yield f"export_nodes[{label},{after}]", query, params

    for rel_type in KEYED:
        cols = relation_columns(D, rel_type)
        for a, b in relation_pairs(D, rel_type):
            rows = [_row(cols, _from="a", _to="b")]
            for what, columns in (("all", _names(cols[1:])), ("none", ())):
                query = ncy.merge_relations(D, rel_type, a, b, columns)
                name = f"merge_relations[{rel_type},{a},{b},{what}]"
                yield name, query, {"rows": rows, "defaults": {}}
        for after in (False, True):
            params = {"as_of": DAY, "ended": False, "limit": 10} | ({"after": "x"} if after else {})
            yield (
                f"export_relations[{rel_type},{after}]",
                ncy.export_relations(D, rel_type, after),
                params,
            )
        for direction in ("out", "in", "both"):
            query = ncy.neighbours(D, (rel_type,), direction)
            yield f"neighbours[{rel_type},{direction}]", query, {"id": "x", "offset": 0, "limit": 5}
    for direction in ("out", "in", "both"):
        query = ncy.neighbours(D, KEYED, direction)
        yield f"neighbours[all,{direction}]", query, {"id": "x", "offset": 0, "limit": 5}
    for rel_type in D.relation_types:
        yield f"count_relations[{rel_type}]", ncy.count_relations(D, rel_type), {}

    record_cols = node_columns(D, "Record")
    record_rows = [_row(record_cols)]
    query = ncy.create_records(D, _names(record_cols[1:]))
    yield "create_records", query, {"rows": record_rows, "defaults": {}}
    for what, columns in (("all", _names(record_cols[1:])), ("end", ("end",))):
        yield f"update_records[{what}]", ncy.update_records(D, columns), {"rows": record_rows}
    for after in (False, True):
        params = {"as_of": DAY, "limit": 10} | ({"after": "x"} if after else {})
        yield f"export_records[{after}]", ncy.export_records(D, after), params

    yield "COUNT_RECORDS_BY_KIND", ncy.COUNT_RECORDS_BY_KIND, {}
    yield "GET_ENTERPRISE", ncy.GET_ENTERPRISE, {"id": "x"}
    yield "GET_PERSON", ncy.GET_PERSON, {"id": "x"}
    yield "SEARCH", ncy.SEARCH, {"text": "x", "limit": 5}

    paths = {"id": "x", "as_of": DAY, "limit": 5, "sep": KEY_SEPARATOR}
    # Hop counts change only the quantifier's bound: the two extremes stand for the rest.
    for hops in (1, layout.MAX_HOPS):
        yield f"related_parties[{hops}]", ncy.related_parties(D, hops), paths
        for direction in ("up", "down"):
            yield f"ownership[{direction},{hops}]", ncy.ownership(D, direction, hops), paths
        for direction in ("out", "in"):
            query = ncy.guarantee_paths(D, direction, hops)
            yield f"guarantee_paths[{direction},{hops}]", query, paths


STATEMENTS = {name: (query, params) for name, query, params in statements()}


def lint_schema() -> dict[str, Any]:
    """What the linter is told the database holds: the domain's labels, types, properties."""
    # The meta node's properties; and the endpoint fields of relation rows, because the linter
    # takes `row._from` inside a node's property map for a property of that node.
    properties = {"name", "value", "_from", "_to"}
    for label in D.labels:
        properties |= set(_names(node_columns(D, label)))
    for rel_type in D.relation_types:
        properties |= set(_names(relation_columns(D, rel_type)))
    return {
        "labels": [*D.labels, ncy.META_LABEL],
        "relationshipTypes": list(D.relation_types),
        "propertyKeys": sorted(properties),
        "graphSchema": [
            {"from": a, "to": b, "relType": t}
            for t in D.relation_types
            for a, b in relation_pairs(D, t)
        ],
    }


@pytest.fixture(scope="module")
def diagnostics() -> dict[str, list[dict[str, Any]]]:
    """Diagnostics of every statement and self-check, from one run of the harness."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("node (Node.js 20+) is not on PATH: install it to lint the Neo4j Cypher")
    if not (HARNESS / "node_modules" / "@neo4j-cypher" / "language-support").is_dir():
        pytest.fail(
            f"the Cypher linter is not installed: run `npm ci --prefix {HARNESS}` "
            "(`./dev test` does it)"
        )
    payload = {
        "schema": lint_schema(),
        "statements": [
            {"name": name, "query": query, "parameters": params}
            for name, (query, params) in (STATEMENTS | _self_checks()).items()
        ],
    }
    done = subprocess.run(
        [node, str(HARNESS / "lint.mjs")],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        pytest.fail(f"the Cypher lint harness failed ({done.returncode}):\n{done.stderr}")
    return {r["name"]: r["diagnostics"] for r in json.loads(done.stdout)["results"]}


def _self_checks() -> dict[str, tuple[str, dict[str, Any]]]:
    return {name: (query, params) for name, (query, params, _) in SELF_CHECKS.items()}


@pytest.mark.parametrize("name", list(SELF_CHECKS))
def test_the_harness_flags_bad_statements(
    diagnostics: dict[str, list[dict[str, Any]]], name: str
) -> None:
    expected = SELF_CHECKS[name][2]
    found = diagnostics[name]
    if expected == "deprecated":
        assert any(d["deprecated"] for d in found), found
    else:
        assert any(d["severity"] == expected for d in found), found


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_statement_is_clean(diagnostics: dict[str, list[dict[str, Any]]], name: str) -> None:
    query, params = STATEMENTS[name]
    found = diagnostics[name]
    report = "\n".join(
        f"  {d['severity']}{' (deprecated)' if d['deprecated'] else ''} at {d['offset']}: "
        f"{d['message']}"
        for d in found
    )
    assert not found, f"{name}: {query}\nparameters: {sorted(params)}\n{report}"


@pytest.mark.parametrize("name", list(STATEMENTS))
def test_declared_parameters_are_the_used_ones(name: str) -> None:
    # The harness errors on a parameter that is used but not declared; this catches the
    # reverse, a declared parameter the statement does not use (a lint that proves less).
    query, params = STATEMENTS[name]
    assert set(re.findall(r"\$(\w+)", query)) == set(params)


def test_every_builder_and_constant_is_linted() -> None:
    module = ncy.__name__
    builders = {
        name
        for name, fn in inspect.getmembers(ncy, inspect.isfunction)
        if fn.__module__ == module and not name.startswith("_")
    }
    constants = {
        name
        for name, value in vars(ncy).items()
        if name.isupper() and not name.startswith("_") and isinstance(value, str) and " " in value
    }
    linted = {name.split("[")[0] for name in STATEMENTS}
    assert builders | constants == linted


def test_no_value_is_written_into_a_statement() -> None:
    # Values travel as $parameters: no string literal anywhere, and the only numbers are
    # the hop bounds of quantifiers.
    for name, (query, _) in STATEMENTS.items():
        assert "'" not in query and '"' not in query, name
        assert not re.findall(r"\d+", re.sub(r"\{1,\d+\}|`[^`]*`", "", query)), name
