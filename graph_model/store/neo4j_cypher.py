"""All Cypher of the Neo4j 5 backend.

Values always travel as ``$parameters``. The only things written into a
statement are names from the domain (labels, relation types, property names),
each checked here against the domain's allowlist, and hop bounds, integers
checked against ``MAX_HOPS`` (Cypher takes quantifier bounds only as literals).
An input can therefore never change the shape of a statement.

The stored layout is the one both backends share (``graph_model.store.layout``),
so both hold the same properties and give the same answers:

- nodes ``(:Enterprise)``, ``(:Person)`` and ``(:Record)``, each keyed by ``id``
  (a uniqueness constraint); a record hangs off its enterprise by
  ``(:Enterprise)-[:HAS_RECORD]->(:Record)``;
- relations carry their ``key`` (a uniqueness constraint per type; ``MERGE``
  finds a relation by it) and their properties;
- ``(:CreditGraphMeta {name, value})`` holds the fingerprint of that layout.

Neo4j 5 dialect: quantified relationships with an inline predicate
(``-[r:T WHERE …]-{1,4}``) filter validity while walking and use each
relationship once per path (Neo4j's relationship isomorphism, the embedded
backend's ``TRAIL``); ``ANY SHORTEST`` keeps one shortest path per end node.
Both need Neo4j 5.21 or later; the 5.26 LTS is the supported release.
"""

from __future__ import annotations

from graph_model.domain import Domain
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
)

# Backend bookkeeping, not part of the domain: the layout fingerprint lives on this label.
META_LABEL = "CreditGraphMeta"


def _sets(var: str, columns: tuple[str, ...]) -> str:
    """``var.c = row.c`` for each column, comma-separated (names already checked)."""
    return ", ".join(f"{var}.{q(c)} = row.{q(c)}" for c in columns)


def _key(domain: Domain, label: str) -> str:
    return q(node_columns(domain, label)[0].name)


# -- schema -------------------------------------------------------------------------


def schema_statements(domain: Domain) -> tuple[str, ...]:
    """Constraints and indexes, Neo4j 5 syntax, each safe to run again (``IF NOT EXISTS``).

    Every node key and every relation key is unique (the constraint's index also serves
    ``MERGE``, lookups and the keyset-paged exports); enterprise names are indexed for
    prefix search.
    """
    out = [
        f"CREATE CONSTRAINT {q('creditgraph_meta_name')} IF NOT EXISTS "
        f"FOR (m:{META_LABEL}) REQUIRE m.{q('name')} IS UNIQUE"
    ]
    for label in domain.labels:
        key = node_columns(domain, label)[0].name
        out.append(
            f"CREATE CONSTRAINT {q(f'{label.lower()}_{key}')} IF NOT EXISTS "
            f"FOR (n:{check_label(domain, label)}) REQUIRE n.{q(key)} IS UNIQUE"
        )
    for spec in domain.relations:
        rel = check_keyed_rel(domain, spec.type)
        out.append(
            f"CREATE CONSTRAINT {q(f'{rel.lower()}_key')} IF NOT EXISTS "
            f"FOR ()-[r:{rel}]-() REQUIRE r.{q('key')} IS UNIQUE"
        )
    out.append(
        f"CREATE INDEX {q('enterprise_name')} IF NOT EXISTS "
        f"FOR (n:{check_label(domain, 'Enterprise')}) ON (n.{q('name')})"
    )
    return tuple(out)


GET_META = f"MATCH (m:{META_LABEL} {{name: $name}}) RETURN m.value AS value"
SET_META = f"MERGE (m:{META_LABEL} {{name: $name}}) SET m.value = $value"


# -- writes -------------------------------------------------------------------------
# Every write statement returns how many rows it wrote, so that a row whose endpoint is
# missing (MATCH finds nothing, the row silently vanishes) is caught and the batch refused.


def merge_nodes(domain: Domain, label: str, columns: tuple[str, ...]) -> str:
    """Upsert ``$rows`` by key: new nodes take ``$defaults``, then ``columns`` are set.

    Only the columns the batch carries are set, so an update never blanks the others and a
    default never overwrites a stored value.
    """
    cols = node_columns(domain, label)
    key = q(cols[0].name)
    sets = _sets("n", known_columns(cols[1:], columns))
    return (
        f"UNWIND $rows AS row MERGE (n:{check_label(domain, label)} {{{key}: row.{key}}}) "
        "ON CREATE SET n += $defaults" + (f" SET {sets}" if sets else "") + " "
        "RETURN count(*) AS written"
    )


def merge_relations(
    domain: Domain, rel_type: str, from_label: str, to_label: str, columns: tuple[str, ...]
) -> str:
    """Upsert ``$rows`` (``_from``, ``_to``, ``key``, properties) by relation key.

    A row whose endpoint does not exist is dropped by the MATCH: the caller compares the
    returned count with the rows sent.
    """
    check_pair(domain, rel_type, from_label, to_label)
    cols = relation_columns(domain, rel_type)
    sets = _sets("r", known_columns(cols[1:], columns))
    rel = check_keyed_rel(domain, rel_type)
    return (
        f"UNWIND $rows AS row "
        f"MATCH (a:{check_label(domain, from_label)} {{id: row._from}}) "
        f"MATCH (b:{check_label(domain, to_label)} {{id: row._to}}) "
        f"MERGE (a)-[r:{rel} {{{q('key')}: row.{q('key')}}}]->(b) "
        "ON CREATE SET r += $defaults" + (f" SET {sets}" if sets else "") + " "
        "RETURN count(*) AS written"
    )


def create_records(domain: Domain, columns: tuple[str, ...]) -> str:
    """Create new records from ``$rows``, each linked from its enterprise.

    ``columns`` must include ``enterprise_id``; a record of a missing enterprise is dropped
    by the MATCH and caught by the returned count.
    """
    cols = node_columns(domain, "Record")
    if "enterprise_id" not in known_columns(cols[1:], columns):
        raise ValueError("new records need their enterprise_id column")
    key = q(cols[0].name)
    return (
        f"UNWIND $rows AS row "
        f"MATCH (e:{check_label(domain, 'Enterprise')} {{id: row.enterprise_id}}) "
        f"CREATE (e)-[:{check_rel(domain, 'HAS_RECORD')}]->(n:{check_label(domain, 'Record')}) "
        f"SET n += $defaults, n.{key} = row.{key}, {_sets('n', columns)} "
        "RETURN count(*) AS written"
    )


def update_records(domain: Domain, columns: tuple[str, ...]) -> str:
    """Set ``columns`` of existing records from ``$rows``; the link to the enterprise stays
    as created (as in the embedded backend)."""
    cols = node_columns(domain, "Record")
    if not known_columns(cols[1:], columns):
        raise ValueError("an update needs at least one column")
    key = q(cols[0].name)
    return (
        f"UNWIND $rows AS row MATCH (n:{check_label(domain, 'Record')} {{{key}: row.{key}}}) "
        f"SET {_sets('n', columns)} RETURN count(*) AS written"
    )


def existing_keys(domain: Domain, label: str) -> str:
    """The keys of ``$keys`` that a node of ``label`` has."""
    key = _key(domain, label)
    return f"UNWIND $keys AS k MATCH (n:{check_label(domain, label)} {{{key}: k}}) RETURN k"


def node_values(domain: Domain, label: str, column: str) -> str:
    """The keys of ``$keys`` that a node of ``label`` has, with its property ``column``."""
    cols = node_columns(domain, label)
    (name,) = known_columns(cols[1:], (column,))
    key = _key(domain, label)
    return (
        f"UNWIND $keys AS k MATCH (n:{check_label(domain, label)} {{{key}: k}}) "
        f"RETURN k, n.{q(name)} AS v"
    )


# -- reads --------------------------------------------------------------------------


def count_nodes(domain: Domain, label: str) -> str:
    return f"MATCH (n:{check_label(domain, label)}) RETURN count(n) AS n"


def count_relations(domain: Domain, rel_type: str) -> str:
    return f"MATCH ()-[r:{check_rel(domain, rel_type)}]->() RETURN count(r) AS n"


COUNT_RECORDS_BY_KIND = "MATCH (r:Record) RETURN r.kind AS kind, count(*) AS n ORDER BY kind"

# One round trip: the enterprise and its records in start order.
GET_ENTERPRISE = (
    "MATCH (n:Enterprise {id: $id}) "
    "RETURN properties(n) AS props, COLLECT { "
    "MATCH (n)-[:HAS_RECORD]->(r:Record) RETURN properties(r) ORDER BY r.`start`, r.kind, r.id "
    "} AS records"
)
GET_PERSON = "MATCH (n:Person {id: $id}) RETURN properties(n) AS props"

SEARCH = (
    "MATCH (e:Enterprise) WHERE e.id = $text OR e.name STARTS WITH $text "
    "RETURN e.id AS id, e.name AS name ORDER BY e.id = $text DESC, name, id LIMIT $limit"
)

_VALID = (
    "(r.valid_from IS NULL OR r.valid_from <= $as_of) "
    "AND (r.valid_to IS NULL OR r.valid_to > $as_of)"
)
_BEGUN = (
    "(r.valid_from IS NULL OR r.valid_from <= $as_of) "
    "AND ($ended OR r.valid_to IS NULL OR r.valid_to > $as_of)"
)

# Paths come back as plain maps (no driver graph objects): nodes in walking order, each
# relation with its stored direction and properties.
# A path's relation keys joined in walking order (``$sep``, see protocol.KEY_SEPARATOR): paths
# of equal length to the same node are ordered by it, as in the embedded store.
_KEYS = "reduce(k = $sep, x IN relationships(p) | k + $sep + x.key) AS keys"
_PATH_COLUMNS = (
    "RETURN [n IN nodes(p) | n {.id, .name, label: head(labels(n))}] AS nodes, "
    "[x IN relationships(p) | {type: type(x), source: startNode(x).id, "
    "target: endNode(x).id, props: properties(x)}] AS rels, length(p) AS len"
)


def neighbours(domain: Domain, rel_types: tuple[str, ...], direction: str) -> str:
    """One page of neighbours of the enterprise or person keyed ``$id``.

    The node is found by two index lookups rather than an unlabelled ``{id: $id}``, which
    would scan every node of the database.
    """
    if not rel_types:
        raise ValueError("at least one relation type is needed")
    types = "|".join(check_keyed_rel(domain, t) for t in rel_types)
    arrows = {"out": ("-", "->"), "in": ("<-", "-"), "both": ("-", "-")}
    left, right = arrows[check_direction(direction, tuple(arrows))]
    return (
        f"OPTIONAL MATCH (e:{check_label(domain, 'Enterprise')} {{id: $id}}) "
        f"OPTIONAL MATCH (p:{check_label(domain, 'Person')} {{id: $id}}) "
        "WITH coalesce(e, p) AS a "
        f"MATCH (a){left}[r:{types}]{right}(b) "
        "RETURN type(r) AS type, r.key AS key, properties(r) AS props, "
        "startNode(r).id AS source, endNode(r).id AS target, "
        "b.id AS id, b.name AS name, head(labels(b)) AS label "
        "ORDER BY type, id, key SKIP $offset LIMIT $limit"
    )


def related_parties(domain: Domain, max_hops: int) -> str:
    """Every shortest tie to every enterprise within ``max_hops`` through people, holdings
    and guarantees valid on ``$as_of``, by length, enterprise id and joined relation keys
    (the caller keeps the first per enterprise, as with the embedded store)."""
    types = "|".join(check_keyed_rel(domain, t) for t in RELATED_PARTY_TYPES)
    return (
        f"MATCH p = ALL SHORTEST (a:Enterprise {{id: $id}})"
        f"-[r:{types} WHERE {_VALID}]-{{1,{check_hops(max_hops)}}}(b:Enterprise) "
        f"WHERE b <> a {_PATH_COLUMNS}, {_KEYS} ORDER BY len, b.id, keys LIMIT $limit"
    )


def ownership(domain: Domain, direction: str, max_depth: int) -> str:
    """Shareholding chains up to the owners or down to the holdings, valid on ``$as_of``."""
    hops = check_hops(max_depth)
    rel = check_keyed_rel(domain, "HOLDS_SHARES")
    up = check_direction(direction, ("up", "down")) == "up"
    left, right = ("<-", "-") if up else ("-", "->")
    return (
        f"MATCH p = (e:Enterprise {{id: $id}}){left}[r:{rel} WHERE {_VALID}]{right}"
        f"{{1,{hops}}}(x) {_PATH_COLUMNS}, {_KEYS} ORDER BY len, x.id, keys LIMIT $limit"
    )


def guarantee_paths(domain: Domain, direction: str, max_hops: int) -> str:
    """Guarantee chains from (``out``) or into (``in``) an enterprise, valid on ``$as_of``."""
    hops = check_hops(max_hops)
    rel = check_keyed_rel(domain, "GUARANTEES")
    out = check_direction(direction, ("out", "in")) == "out"
    left, right = ("-", "->") if out else ("<-", "-")
    return (
        f"MATCH p = (e:Enterprise {{id: $id}}){left}[r:{rel} WHERE {_VALID}]{right}"
        f"{{1,{hops}}}(x:Enterprise) {_PATH_COLUMNS}, {_KEYS} ORDER BY len, x.id, keys LIMIT $limit"
    )


# -- snapshot export ----------------------------------------------------------------
# Keyset pages: ``WHERE key > $after ORDER BY key LIMIT $limit`` walks the key's index in
# order and stops after one page, so every page costs the same at 10M rows as at 10 (SKIP
# would re-read every earlier row). ``after=False`` builds the first page, which has no
# previous key yet.


def _page(key: str, after: bool) -> str:
    return f"{key} > $after" if after else f"{key} IS NOT NULL"


def export_nodes(domain: Domain, label: str, after: bool) -> str:
    """A page of node rows that exist on ``$as_of`` (enterprises established by then)."""
    cols = node_columns(domain, label)
    key = f"n.{q(cols[0].name)}"
    where = [_page(key, after)]
    if label == "Enterprise":
        where.append("(n.established_on IS NULL OR n.established_on <= $as_of)")
    ret = ", ".join(f"n.{q(f.name)} AS {q(f.name)}" for f in cols)
    return (
        f"MATCH (n:{check_label(domain, label)}) WHERE {' AND '.join(where)} "
        f"RETURN {ret} ORDER BY {key} LIMIT $limit"
    )


def export_relations(domain: Domain, rel_type: str, after: bool) -> str:
    """A page of relations valid on ``$as_of`` (with ``$ended``, also those that had ended by
    then), with their endpoint keys, in key order."""
    props = "".join(f", r.{q(f.name)} AS {q(f.name)}" for f in relation_columns(domain, rel_type))
    return (
        f"MATCH (a)-[r:{check_keyed_rel(domain, rel_type)}]->(b) "
        f"WHERE {_page('r.`key`', after)} AND {_BEGUN} "
        f"RETURN a.id AS {q('_from')}, head(labels(a)) AS {q('_from_label')}, "
        f"b.id AS {q('_to')}, head(labels(b)) AS {q('_to_label')}{props} "
        "ORDER BY r.`key` LIMIT $limit"
    )


def export_records(domain: Domain, after: bool) -> str:
    """A page of records that started on or before ``$as_of``."""
    ret = ", ".join(f"r.{q(f.name)} AS {q(f.name)}" for f in node_columns(domain, "Record"))
    return (
        f"MATCH (r:{check_label(domain, 'Record')}) WHERE {_page('r.id', after)} "
        f"AND r.`start` <= $as_of RETURN {ret} ORDER BY r.id LIMIT $limit"
    )
