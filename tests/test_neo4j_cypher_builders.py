"""The Neo4j Cypher builders refuse whatever is not in the domain: names, label pairs,
directions, columns and hop counts. With every value a $parameter (checked in
test_neo4j_cypher_lint.py), this is what keeps input from changing a statement's shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from graph_model.domain import load_domain
from graph_model.store import layout
from graph_model.store import neo4j_cypher as cy

D = load_domain()

# Names an input might try to slip into a statement.
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
    "merge_nodes": lambda x: cy.merge_nodes(D, x, ()),
    "existing_keys": lambda x: cy.existing_keys(D, x),
    "node_values": lambda x: cy.node_values(D, x, "name"),
    "count_nodes": lambda x: cy.count_nodes(D, x),
    "export_nodes": lambda x: cy.export_nodes(D, x, False),
    "merge_relations from": lambda x: cy.merge_relations(D, "LEGAL_REP", x, "Enterprise", ()),
    "merge_relations to": lambda x: cy.merge_relations(D, "LEGAL_REP", "Person", x, ()),
}

REL_BUILDERS: dict[str, Callable[[str], object]] = {
    "merge_relations": lambda t: cy.merge_relations(D, t, "Enterprise", "Enterprise", ()),
    "count_relations": lambda t: cy.count_relations(D, t),
    "export_relations": lambda t: cy.export_relations(D, t, True),
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
        lambda: cy.merge_relations(D, "HAS_RECORD", "Enterprise", "Record", ()),
        lambda: cy.export_relations(D, "HAS_RECORD", False),
        lambda: cy.neighbours(D, ("HAS_RECORD",), "both"),
        lambda: cy.neighbours(D, ("GUARANTEES", "HAS_RECORD"), "out"),
    ],
    ids=["merge_relations", "export_relations", "neighbours", "neighbours among"],
)
def test_has_record_is_refused_where_a_key_or_validity_is_needed(build: Callable) -> None:
    with pytest.raises(ValueError):
        build()


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.merge_relations(D, "GUARANTEES", "Person", "Enterprise", ()),
        lambda: cy.merge_relations(D, "LEGAL_REP", "Enterprise", "Person", ()),
        lambda: cy.merge_relations(D, "OFFICER", "Enterprise", "Enterprise", ("role",)),
    ],
    ids=["person guarantor", "reversed", "enterprise officer"],
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
def test_hop_counts_are_the_quantifier_bound(builder: str, hops: int) -> None:
    assert f"{{1,{hops}}}" in HOP_BUILDERS[builder](hops)


@pytest.mark.parametrize(
    "build",
    [
        lambda: cy.neighbours(D, ("LEGAL_REP",), "up"),
        lambda: cy.neighbours(D, ("LEGAL_REP",), "BOTH"),
        lambda: cy.neighbours(D, (), "both"),
        lambda: cy.ownership(D, "out", 2),
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
        lambda: cy.merge_nodes(D, "Enterprise", ("nope",)),
        lambda: cy.merge_nodes(D, "Enterprise", ("id",)),  # the key is merged on, never set
        lambda: cy.merge_nodes(D, "Enterprise", ("name = 1, n.status",)),
        lambda: cy.merge_relations(D, "GUARANTEES", "Enterprise", "Enterprise", ("key",)),
        lambda: cy.merge_relations(D, "GUARANTEES", "Enterprise", "Enterprise", ("share",)),
        lambda: cy.create_records(D, ("kind", "start")),  # no enterprise to link from
        lambda: cy.create_records(D, ("enterprise_id", "nope")),
        lambda: cy.update_records(D, ()),
        lambda: cy.update_records(D, ("id",)),
    ],
)
def test_columns_must_be_stored_properties(build: Callable) -> None:
    with pytest.raises(ValueError):
        build()


def test_only_carried_columns_are_set() -> None:
    query = cy.merge_nodes(D, "Enterprise", ("status",))
    assert "SET n.`status` = row.`status` RETURN" in query
    assert "n.`name`" not in query
    assert "SET" not in cy.merge_nodes(D, "Person", ()).split("ON CREATE SET n += $defaults")[1]


def test_exports_page_by_key_without_skip() -> None:
    first = cy.export_nodes(D, "Enterprise", False)
    later = cy.export_nodes(D, "Enterprise", True)
    assert "n.`id` IS NOT NULL" in first and "$after" not in first
    assert "n.`id` > $after" in later
    for query in (first, later, cy.export_relations(D, "GUARANTEES", True)):
        assert "LIMIT $limit" in query and "SKIP" not in query
    assert "ORDER BY r.`key` LIMIT $limit" in cy.export_relations(D, "GUARANTEES", True)


def test_schema_statements_use_neo4j_5_syntax() -> None:
    statements = cy.schema_statements(D)
    constraints = [s for s in statements if s.startswith("CREATE CONSTRAINT")]
    # Meta, three node labels and one per keyed relation type.
    assert len(constraints) == 1 + len(D.labels) + len(D.relations)
    for statement in statements:
        assert " IF NOT EXISTS FOR " in statement
        assert " ASSERT " not in statement and " ON (" not in statement.split("FOR")[0]
    for spec in D.relations:
        assert any(f"FOR ()-[r:{spec.type}]-() REQUIRE r.`key` IS UNIQUE" in s for s in statements)
