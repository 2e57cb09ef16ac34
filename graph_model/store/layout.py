"""The stored layout both backends share, derived from the domain, and the checks that keep
input out of the shape of a query.

Node and relation columns, the label pairs a relation type connects, and the allowlist
checks every Cypher builder (``ladybug_cypher``, ``neo4j_cypher``) runs on the labels,
relation types, property names, directions and hop counts it writes into a statement.
Only values travel as parameters; these names come from ``domain.yaml`` and are checked
here, so the two backends hold the same graph and refuse the same names.
"""

from __future__ import annotations

from graph_model.domain import Domain, FieldSpec

MAX_HOPS = 8
"""Longest variable-length pattern a query may ask for (hop bounds are written as literals)."""

RELATED_PARTY_TYPES = ("LEGAL_REP", "OFFICER", "HOLDS_SHARES", "GUARANTEES")
"""Relations that tie enterprises into related parties (关联方)."""


def q(name: str) -> str:
    """Quote a property name taken from the domain (``end`` is a Cypher keyword)."""
    if not name.replace("_", "").isalnum():
        raise ValueError(f"not a property name: {name!r}")
    return f"`{name}`"


def check_label(domain: Domain, label: str) -> str:
    """``label``, when it is a node label of the domain."""
    if label not in domain.labels:
        raise ValueError(f"label {label!r} is not in the domain allowlist")
    return label


def check_rel(domain: Domain, rel_type: str) -> str:
    """``rel_type``, when it is a relation type of the domain (``HAS_RECORD`` included)."""
    if rel_type not in domain.relation_types:
        raise ValueError(f"relation type {rel_type!r} is not in the domain allowlist")
    return rel_type


def check_keyed_rel(domain: Domain, rel_type: str) -> str:
    """``rel_type``, when it is a domain relation with a key and a validity period."""
    # HAS_RECORD only links records to their enterprise: it has no key and no validity.
    if check_rel(domain, rel_type) not in {r.type for r in domain.relations}:
        raise ValueError(f"relation type {rel_type!r} is not a domain relation with a key")
    return rel_type


def check_direction(direction: str, allowed: tuple[str, ...]) -> str:
    """``direction``, when it is one of ``allowed``."""
    if direction not in allowed:
        raise ValueError(f"direction must be one of {allowed}, got {direction!r}")
    return direction


def check_hops(hops: int) -> int:
    """``hops``, when it is an integer from 1 to ``MAX_HOPS``."""
    # bool is an int subclass; True would be written into the query as "True".
    if isinstance(hops, bool) or not isinstance(hops, int) or not 1 <= hops <= MAX_HOPS:
        raise ValueError(f"hops must be an integer from 1 to {MAX_HOPS}, got {hops!r}")
    return hops


def check_pair(domain: Domain, rel_type: str, from_label: str, to_label: str) -> None:
    """Refuse a label pair that ``rel_type`` does not connect."""
    if (from_label, to_label) not in relation_pairs(domain, rel_type):
        raise ValueError(f"{rel_type} does not connect {from_label!r} to {to_label!r}")


def known_columns(
    allowed: tuple[FieldSpec, ...], columns: tuple[str, ...], *, required: bool = False
) -> tuple[str, ...]:
    """``columns``, when each is one of ``allowed`` (and, if ``required``, there is one)."""
    names = {f.name for f in allowed}
    unknown = [c for c in columns if c not in names]
    if unknown or (required and not columns):
        raise ValueError(f"columns {unknown or columns} are not stored properties")
    return columns


def node_columns(domain: Domain, label: str) -> tuple[FieldSpec, ...]:
    """Stored properties of a node label, key first, in DDL order."""
    check_label(domain, label)
    if label == "Record":
        head = (
            FieldSpec("id", "string", "kind:record_no"),
            FieldSpec("kind", "string", "record kind"),
        )
        return head + domain.record_fields
    spec = domain.node(label)
    key = FieldSpec(spec.store_key, "string", "key")
    return (key, *(f for f in spec.fields if f.name != spec.key))


def relation_columns(domain: Domain, rel_type: str) -> tuple[FieldSpec, ...]:
    """Stored properties of a relation type, in DDL order (``key`` first)."""
    check_rel(domain, rel_type)
    if rel_type == "HAS_RECORD":
        return ()
    key = FieldSpec("key", "string", "relation key")
    return (key, *domain.relation(rel_type).property_fields)


def relation_pairs(domain: Domain, rel_type: str) -> tuple[tuple[str, str], ...]:
    """(from label, to label) pairs a relation type connects."""
    check_rel(domain, rel_type)
    if rel_type == "HAS_RECORD":
        return (("Enterprise", "Record"),)
    spec = domain.relation(rel_type)
    labels = {
        "enterprise": ("Enterprise",),
        "person": ("Person",),
        "party": ("Person", "Enterprise"),
    }
    return tuple((a, b) for a in labels[spec.source.ref] for b in labels[spec.target.ref])
