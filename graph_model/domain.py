"""The domain model, read from ``domain.yaml``.

The YAML file is the single definition of node types, relation types, record
kinds and their fields. This module turns it into frozen dataclasses that the
loaders (validation), the stores (schema, Cypher allowlists) and the docs
generator read. Nothing here knows about a particular backend.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from typing import Any, Literal

import yaml

FieldType = Literal["string", "date", "float", "bool", "enum"]
RefKind = Literal["enterprise", "person", "party"]


@dataclass(frozen=True)
class FieldSpec:
    """One column of the data contract."""

    name: str
    type: FieldType
    doc: str
    required: bool = False
    values: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    pattern: str | None = None
    after: str | None = None
    default: str | None = None
    check: str | None = None
    normalise: str | None = None
    percent_column: str | None = None

    @property
    def storage_type(self) -> str:
        """Type as stored: enums are strings."""
        return "string" if self.type == "enum" else self.type


@dataclass(frozen=True)
class NodeSpec:
    """A node type: its label, source file and fields."""

    label: str
    file: str
    key: str
    store_key: str
    description: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)


@dataclass(frozen=True)
class EndSpec:
    """One end of a relation: the column holding the reference and its kind."""

    field: str
    ref: RefKind
    type_field: str | None = None


@dataclass(frozen=True)
class RelationSpec:
    """A relation type with temporal validity."""

    type: str
    file: str
    description: str
    source: EndSpec
    target: EndSpec
    key: tuple[str, ...]
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)

    @property
    def property_fields(self) -> tuple[FieldSpec, ...]:
        """Fields stored on the relation (endpoints and the holder type are structure)."""
        structural = {self.source.field, self.target.field, self.source.type_field}
        return tuple(f for f in self.fields if f.name not in structural)


@dataclass(frozen=True)
class RecordSpec:
    """A kind of record on an enterprise (list entry, penalty, ...)."""

    kind: str
    file: str
    description: str
    fields: tuple[FieldSpec, ...]

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)


@dataclass(frozen=True)
class Domain:
    """The whole domain: identifiers, nodes, relations and record kinds."""

    version: int
    identifiers: dict[str, Any]
    nodes: tuple[NodeSpec, ...]
    relations: tuple[RelationSpec, ...]
    records: tuple[RecordSpec, ...]

    def node(self, label: str) -> NodeSpec:
        for n in self.nodes:
            if n.label == label:
                return n
        raise KeyError(f"unknown node label {label!r}")

    def relation(self, rel_type: str) -> RelationSpec:
        for r in self.relations:
            if r.type == rel_type:
                return r
        raise KeyError(f"unknown relation type {rel_type!r}")

    def record(self, kind: str) -> RecordSpec:
        for r in self.records:
            if r.kind == kind:
                return r
        raise KeyError(f"unknown record kind {kind!r}")

    @property
    def labels(self) -> tuple[str, ...]:
        """Node labels allowed in queries (the Cypher allowlist)."""
        return (*(n.label for n in self.nodes), "Record")

    @property
    def relation_types(self) -> tuple[str, ...]:
        """Relation types allowed in queries (the Cypher allowlist)."""
        return (*(r.type for r in self.relations), "HAS_RECORD")

    @property
    def record_fields(self) -> tuple[FieldSpec, ...]:
        """Union of all record kinds' fields, as stored on the Record node."""
        seen: dict[str, FieldSpec] = {}
        for spec in self.records:
            for f in spec.fields:
                prior = seen.get(f.name)
                if prior is not None and prior.storage_type != f.storage_type:
                    raise ValueError(f"record field {f.name!r} has two storage types")
                seen.setdefault(f.name, f)
        return tuple(seen.values())

    @property
    def files(self) -> tuple[str, ...]:
        """Every file name of the data contract, in load order."""
        return (
            *(n.file for n in self.nodes),
            *(r.file for r in self.relations),
            *(r.file for r in self.records),
        )


def _find(fields: tuple[FieldSpec, ...], name: str) -> FieldSpec:
    for f in fields:
        if f.name == name:
            return f
    raise KeyError(f"unknown field {name!r}")


def _fields(raw: dict[str, dict[str, Any]]) -> tuple[FieldSpec, ...]:
    out = []
    for name, spec in raw.items():
        spec = dict(spec)
        if "values" in spec:
            spec["values"] = tuple(str(v) for v in spec["values"])
        if "default" in spec:
            spec["default"] = str(spec["default"])
        out.append(FieldSpec(name=name, **spec))
    return tuple(out)


def _end(raw: dict[str, Any]) -> EndSpec:
    return EndSpec(field=raw["field"], ref=raw["ref"], type_field=raw.get("type_field"))


@functools.cache
def load_domain() -> Domain:
    """Read ``domain.yaml`` once; the result is immutable."""
    text = resources.files("graph_model").joinpath("domain.yaml").read_text("utf-8")
    raw = yaml.safe_load(text)
    nodes = tuple(
        NodeSpec(
            label=label,
            file=spec["file"],
            key=spec["key"],
            store_key=spec.get("store_key", spec["key"]),
            description=spec["description"],
            fields=_fields(spec["fields"]),
        )
        for label, spec in raw["nodes"].items()
    )
    relations = tuple(
        RelationSpec(
            type=rel_type,
            file=spec["file"],
            description=spec["description"],
            source=_end(spec["from"]),
            target=_end(spec["to"]),
            key=tuple(spec["key"]),
            fields=_fields(spec["fields"]),
        )
        for rel_type, spec in raw["relations"].items()
    )
    common = _fields(raw["records"]["common"])
    records = tuple(
        RecordSpec(
            kind=kind,
            file=spec["file"],
            description=spec["description"],
            fields=common + _fields(spec["fields"]),
        )
        for kind, spec in raw["records"]["kinds"].items()
    )
    return Domain(
        version=raw["version"],
        identifiers=raw["identifiers"],
        nodes=nodes,
        relations=relations,
        records=records,
    )
