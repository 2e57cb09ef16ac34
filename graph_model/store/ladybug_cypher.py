"""All Cypher of the embedded (LadybugDB) backend.

Values always travel as ``$parameters``. Labels, relation types and property
names come only from the domain (``domain.yaml``), checked against its
allowlist, so an input can never change the shape of a query. Hop counts are
integers checked in ``layout`` because LadybugDB needs them as literals.

LadybugDB dialect notes: variable-length patterns use ``* TRAIL`` so that a
relation is walked once per path (Neo4j semantics); relation filters inside a
recursive pattern use ``(r, n | WHERE ...)``; ``label()`` replaces ``type()``.
"""

from __future__ import annotations

from graph_model.domain import Domain, FieldSpec
from graph_model.store.layout import (
    RELATED_PARTY_TYPES,
    check_direction,
    check_hops,
    check_keyed_rel,
    check_label,
    check_pair,
    check_rel,
    known_columns,
    node_columns,
    q,
    relation_columns,
    relation_pairs,
)

_CYPHER_TYPES = {"string": "STRING", "date": "DATE", "float": "DOUBLE", "bool": "BOOLEAN"}


def _column(f: FieldSpec) -> str:
    return f"{q(f.name)} {_CYPHER_TYPES.get(f.type, 'STRING')}"


# -- schema -----------------------------------------------------------------


def create_node_table(domain: Domain, label: str) -> str:
    cols = node_columns(domain, label)
    body = ", ".join(_column(f) for f in cols)
    table = check_label(domain, label)
    return f"CREATE NODE TABLE IF NOT EXISTS {table}({body}, PRIMARY KEY ({q(cols[0].name)}))"


def create_rel_table(domain: Domain, rel_type: str) -> str:
    pairs = ", ".join(f"FROM {a} TO {b}" for a, b in relation_pairs(domain, rel_type))
    cols = "".join(", " + _column(f) for f in relation_columns(domain, rel_type))
    return f"CREATE REL TABLE IF NOT EXISTS {check_rel(domain, rel_type)}({pairs}{cols})"


CREATE_META = "CREATE NODE TABLE IF NOT EXISTS Meta(name STRING, value STRING, PRIMARY KEY (name))"
GET_META = "MATCH (m:Meta {name: $name}) RETURN m.value"
SET_META = "MERGE (m:Meta {name: $name}) SET m.value = $value"

BEGIN = "BEGIN TRANSACTION"
COMMIT = "COMMIT"
ROLLBACK = "ROLLBACK"
CHECKPOINT = "CHECKPOINT"


# -- writes -----------------------------------------------------------------


def copy_nodes(domain: Domain, label: str) -> str:
    """Bulk insert of new nodes from the Arrow table ``$rows`` (columns in DDL order)."""
    return f"COPY {check_label(domain, label)} FROM $rows"


def update_nodes(domain: Domain, label: str, columns: tuple[str, ...]) -> str:
    """Update the given columns of existing nodes from ``$rows`` (keyed by the first column)."""
    cols = node_columns(domain, label)
    key = q(cols[0].name)
    sets = ", ".join(f"n.{q(c)} = {q(c)}" for c in known_columns(cols[1:], columns, required=True))
    return f"LOAD FROM $rows MATCH (n:{check_label(domain, label)} {{{key}: {key}}}) SET {sets}"


def copy_relations(domain: Domain, rel_type: str, from_label: str, to_label: str) -> str:
    """Bulk insert of new relations; ``$rows`` holds from, to, then the properties."""
    check_pair(domain, rel_type, from_label, to_label)
    return f"COPY {check_rel(domain, rel_type)} FROM $rows (from='{from_label}', to='{to_label}')"


def update_relations(
    domain: Domain, rel_type: str, from_label: str, to_label: str, columns: tuple[str, ...]
) -> str:
    """Update the given columns of existing relations found by endpoints and key."""
    check_pair(domain, rel_type, from_label, to_label)
    cols = relation_columns(domain, rel_type)
    sets = ", ".join(f"r.{q(c)} = {q(c)}" for c in known_columns(cols[1:], columns, required=True))
    return (
        f"LOAD FROM $rows MATCH (a:{check_label(domain, from_label)} {{id: _from}})"
        f"-[r:{check_rel(domain, rel_type)} {{key: key}}]->"
        f"(b:{check_label(domain, to_label)} {{id: _to}}) SET {sets}"
    )


def existing_node_keys(domain: Domain, label: str, columns: tuple[str, ...] = ()) -> str:
    """Keys of ``$rows`` (column ``k``) that exist, with the stored values of ``columns``."""
    cols = node_columns(domain, label)
    key = q(cols[0].name)
    values = "".join(f", n.{q(c)} AS {q(c)}" for c in known_columns(cols[1:], columns))
    return f"LOAD FROM $rows MATCH (n:{check_label(domain, label)} {{{key}: k}}) RETURN k{values}"


def all_relation_keys(domain: Domain, rel_type: str, columns: tuple[str, ...] = ()) -> str:
    """Every key of a relation type with its endpoints (``_from_s``, ``_to_s``) and the stored
    values of ``columns``."""
    rel = check_keyed_rel(domain, rel_type)
    allowed = relation_columns(domain, rel_type)[1:]
    values = "".join(f", r.{q(c)} AS {q(c)}" for c in known_columns(allowed, columns))
    return f"MATCH (a)-[r:{rel}]->(b) RETURN r.key AS k, a.id AS _from_s, b.id AS _to_s{values}"


# -- reads ------------------------------------------------------------------


def count_nodes(domain: Domain, label: str) -> str:
    return f"MATCH (n:{check_label(domain, label)}) RETURN count(n)"


def count_relations(domain: Domain, rel_type: str) -> str:
    return f"MATCH ()-[r:{check_rel(domain, rel_type)}]->() RETURN count(r)"


COUNT_RECORDS_BY_KIND = "MATCH (r:Record) RETURN r.kind, count(r) ORDER BY r.kind"

GET_ENTERPRISE = "MATCH (n:Enterprise {id: $id}) RETURN n"
GET_PERSON = "MATCH (n:Person {id: $id}) RETURN n"
GET_RECORDS = (
    "MATCH (:Enterprise {id: $id})-[:HAS_RECORD]->(r:Record) "
    "RETURN r ORDER BY r.`start`, r.kind, r.id"
)

SEARCH = (
    "MATCH (e:Enterprise) WHERE e.id = $text OR e.name STARTS WITH $text "
    "RETURN e.id, e.name ORDER BY e.id = $text DESC, e.name, e.id LIMIT $limit"
)

_VALID = (
    "(r.valid_from IS NULL OR r.valid_from <= $as_of) "
    "AND (r.valid_to IS NULL OR r.valid_to > $as_of)"
)
_BEGUN = (
    "(r.valid_from IS NULL OR r.valid_from <= $as_of) "
    "AND ($ended OR r.valid_to IS NULL OR r.valid_to > $as_of)"
)


# A path's relation keys joined in walking order (``$sep``, see protocol.KEY_SEPARATOR): paths
# of equal length to the same node are ordered by it, the same way in every backend.
_KEYS = "list_to_string($sep, properties(rels(p), 'key')) AS keys"


def neighbours(
    domain: Domain, rel_types: tuple[str, ...], direction: str, label: str | None = None
) -> str:
    """One page of neighbours of the node keyed ``$id``: of any label, or only a ``label``
    node, found through that label's key index (an unlabelled ``{id: $id}`` scans every
    node: 90 ms at a million firms, against 3 ms)."""
    if not rel_types:
        raise ValueError("at least one relation type is needed")
    types = "|".join(check_keyed_rel(domain, t) for t in rel_types)
    arrows = {"out": ("-", "->"), "in": ("<-", "-"), "both": ("-", "-")}
    left, right = arrows[check_direction(direction, tuple(arrows))]
    node = f"a:{check_label(domain, label)}" if label is not None else "a"
    return (
        f"MATCH ({node} {{id: $id}}){left}[r:{types}]{right}(b) "
        "RETURN r, b, label(r) AS t ORDER BY t, b.id, r.key SKIP $offset LIMIT $limit"
    )


def related_parties(domain: Domain, max_hops: int) -> str:
    """Every shortest tie to every enterprise within ``max_hops`` through people, holdings,
    guarantees, by length, enterprise id and joined relation keys (the caller keeps the first
    per enterprise)."""
    types = "|".join(check_rel(domain, t) for t in RELATED_PARTY_TYPES)
    return (
        f"MATCH p = (a:Enterprise {{id: $id}})-[:{types}* ALL SHORTEST "
        f"1..{check_hops(max_hops)} (r, n | WHERE {_VALID})]-(b:Enterprise) "
        "WHERE b <> a "
        f"RETURN nodes(p), rels(p), length(p) AS len, {_KEYS} ORDER BY len, b.id, keys LIMIT $limit"
    )


def ownership(domain: Domain, direction: str, max_depth: int) -> str:
    """Shareholding chains up to the owners or down to the holdings."""
    hops = check_hops(max_depth)
    rel = check_rel(domain, "HOLDS_SHARES")
    check_direction(direction, ("up", "down"))
    pattern = (
        f"(e:Enterprise {{id: $id}})<-[:{rel}* TRAIL 1..{hops} (r, n | WHERE {_VALID})]-(x)"
        if direction == "up"
        else f"(e:Enterprise {{id: $id}})-[:{rel}* TRAIL 1..{hops} (r, n | WHERE {_VALID})]->(x)"
    )
    return (
        f"MATCH p = {pattern} "
        f"RETURN nodes(p), rels(p), length(p) AS len, {_KEYS} ORDER BY len, x.id, keys LIMIT $limit"
    )


def guarantee_paths(domain: Domain, direction: str, max_hops: int) -> str:
    """Guarantee chains from (``out``) or into (``in``) an enterprise."""
    hops = check_hops(max_hops)
    rel = check_rel(domain, "GUARANTEES")
    out = check_direction(direction, ("out", "in")) == "out"
    left, right = ("-", "->") if out else ("<-", "-")
    return (
        f"MATCH p = (e:Enterprise {{id: $id}}){left}[:{rel}* TRAIL 1..{hops} "
        f"(r, n | WHERE {_VALID})]{right}(x:Enterprise) "
        f"RETURN nodes(p), rels(p), length(p) AS len, {_KEYS} ORDER BY len, x.id, keys LIMIT $limit"
    )


# -- snapshot export ---------------------------------------------------------


def export_nodes(domain: Domain, label: str) -> str:
    """Node rows that exist on ``$as_of`` (enterprises established by then)."""
    cols = node_columns(domain, label)
    ret = ", ".join(f"n.{q(f.name)} AS {q(f.name)}" for f in cols)
    where = (
        " WHERE n.established_on IS NULL OR n.established_on <= $as_of"
        if label == "Enterprise"
        else ""
    )
    return (
        f"MATCH (n:{check_label(domain, label)}){where} RETURN {ret} ORDER BY n.{q(cols[0].name)}"
    )


def export_relations(domain: Domain, rel_type: str) -> str:
    """Relations valid on ``$as_of`` (with ``$ended``, also those that had ended by then)
    with their endpoint keys."""
    props = "".join(f", r.{q(f.name)} AS {q(f.name)}" for f in relation_columns(domain, rel_type))
    return (
        f"MATCH (a)-[r:{check_keyed_rel(domain, rel_type)}]->(b) WHERE {_BEGUN} "
        f"RETURN a.id AS _from, label(a) AS _from_label, b.id AS _to, label(b) AS _to_label{props}"
    )


def export_records(domain: Domain) -> str:
    """Records that started on or before ``$as_of``."""
    ret = ", ".join(f"r.{q(f.name)} AS {q(f.name)}" for f in node_columns(domain, "Record"))
    return f"MATCH (r:Record) WHERE r.`start` <= $as_of RETURN {ret} ORDER BY r.id"
