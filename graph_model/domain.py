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


MAX_CHARACTERS = 1_000
"""Longest value a text field takes; a longer one rejects its row (a name or an address of a
megabyte is not data but a broken or hostile export)."""


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
    requires: str | None = None
    past: bool = False
    """An event date: it cannot be later than the day of the load."""
    total_max: float | None = None
    """Current rows (no ``valid_to``) of one target may add up to at most this; more is
    loaded with a warning."""

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
    self_relation: str | None = None
    """Why a relation of a party with itself is true but odd (loaded with a warning);
    None: it cannot be true, and such a row is rejected."""

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)

    @property
    def property_fields(self) -> tuple[FieldSpec, ...]:
        """Fields stored on the relation (endpoints and the holder type are structure)."""
        structural = {self.source.field, self.target.field, self.source.type_field}
        return tuple(f for f in self.fields if f.name not in structural)


@dataclass(frozen=True)
class Period:
    """A span of calendar time in whole months (years are twelve months)."""

    months: int

    def __str__(self) -> str:
        years, months = divmod(self.months, 12)
        parts = [
            f"{n} {unit}{'s' if n > 1 else ''}"
            for n, unit in ((years, "year"), (months, "month"))
            if n
        ]
        return " ".join(parts) or "0 months"


@dataclass(frozen=True)
class Window:
    """A period counted from a record's start; ``cases`` give other periods for some values
    of the field ``by``."""

    default: Period
    by: str | None = None
    cases: tuple[tuple[str, Period], ...] = ()

    def __str__(self) -> str:
        text = str(self.default)
        by_period: dict[Period, list[str]] = {}
        for value, period in self.cases:
            by_period.setdefault(period, []).append(value)
        for period, values in by_period.items():
            listed = values[0] if len(values) == 1 else f"{', '.join(values[:-1])} or {values[-1]}"
            text += f" ({period} when {self.by} is {listed})"
        return text


@dataclass(frozen=True)
class Escalation:
    """A record still in force ``after`` its start is due to move to the list ``to``."""

    after: Period
    to: str


@dataclass(frozen=True)
class RecordRules:
    """When a record of a kind stops applying and when it may be repaired (DOMAIN.md)."""

    publicity: Window | None = None
    extension: Period | None = None
    repair_wait: Window | None = None
    escalation: Escalation | None = None


@dataclass(frozen=True)
class RecordSpec:
    """A kind of record on an enterprise (list entry, penalty, ...)."""

    kind: str
    file: str
    description: str
    fields: tuple[FieldSpec, ...]
    rules: RecordRules = RecordRules()

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


def _period(raw: Any, where: str) -> Period:
    if not isinstance(raw, dict) or not raw or set(raw) - {"years", "months"}:
        raise ValueError(
            f"domain.yaml {where}: expected {{years: n}} and/or {{months: n}}, got {raw!r}"
        )
    months = 12 * int(raw.get("years", 0)) + int(raw.get("months", 0))
    if months <= 0:
        raise ValueError(f"domain.yaml {where}: a period must be positive, got {raw!r}")
    return Period(months)


def _window(raw: dict[str, Any], where: str, fields: tuple[FieldSpec, ...]) -> Window:
    period = {k: v for k, v in raw.items() if k in ("years", "months")}
    extra = set(raw) - {"years", "months", "by", "cases"}
    if extra:
        raise ValueError(f"domain.yaml {where}: unknown keys {sorted(extra)}")
    by = raw.get("by")
    cases = raw.get("cases", {})
    if bool(by) != bool(cases):
        raise ValueError(f"domain.yaml {where}: `by` and `cases` go together")
    if by:
        values = _find(fields, by).values
        unknown = sorted(set(cases) - set(values))
        if not values or unknown:
            raise ValueError(f"domain.yaml {where}: cases {unknown} are not values of enum {by!r}")
    return Window(
        default=_period(period, where),
        by=by,
        cases=tuple((str(v), _period(p, f"{where}.cases.{v}")) for v, p in cases.items()),
    )


def _rules(
    kind: str, raw: dict[str, Any], fields: tuple[FieldSpec, ...], kinds: tuple[str, ...]
) -> RecordRules:
    where = f"records.kinds.{kind}.rules"
    extra = set(raw) - {"publicity", "extension", "repair_wait", "escalation"}
    if extra:
        raise ValueError(f"domain.yaml {where}: unknown rules {sorted(extra)}")
    if "extension" in raw and "publicity" not in raw:
        raise ValueError(f"domain.yaml {where}: an extension needs a publicity window")
    escalation = None
    if "escalation" in raw:
        target = raw["escalation"].get("to")
        if target not in kinds or target == kind:
            raise ValueError(f"domain.yaml {where}.escalation: `to` must be another record kind")
        escalation = Escalation(
            _period(raw["escalation"].get("after"), f"{where}.escalation"), target
        )
    return RecordRules(
        publicity=_window(raw["publicity"], f"{where}.publicity", fields)
        if "publicity" in raw
        else None,
        extension=_period(raw["extension"], f"{where}.extension") if "extension" in raw else None,
        repair_wait=_window(raw["repair_wait"], f"{where}.repair_wait", fields)
        if "repair_wait" in raw
        else None,
        escalation=escalation,
    )


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
            self_relation=spec.get("self_relation"),
        )
        for rel_type, spec in raw["relations"].items()
    )
    common = _fields(raw["records"]["common"])
    kinds = raw["records"]["kinds"]
    records = []
    for kind, spec in kinds.items():
        fields = common + _fields(spec["fields"])
        records.append(
            RecordSpec(
                kind=kind,
                file=spec["file"],
                description=spec["description"],
                fields=fields,
                rules=_rules(kind, spec.get("rules", {}), fields, tuple(kinds)),
            )
        )
    return Domain(
        version=raw["version"],
        identifiers=raw["identifiers"],
        nodes=nodes,
        relations=relations,
        records=tuple(records),
    )
