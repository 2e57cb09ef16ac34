"""The domain model, read from ``domain.yaml``.

The YAML file is the single definition of node types, relation types, record
kinds and their fields. This module turns it into frozen dataclasses that the
loaders (validation), the stores (schema, Cypher allowlists) and the docs
generator read. Nothing here knows about a particular backend.
"""

# long: each spec of the domain beside the reading of domain.yaml that builds and checks it:
# split, a rule's meaning and its checks would live in two modules.

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from types import MappingProxyType
from typing import Any, Literal

import pyarrow as pa
import yaml

FieldType = Literal["string", "date", "float", "bool", "enum"]
RefKind = Literal["enterprise", "person", "party"]


MAX_CHARACTERS = 1_000
"""Longest value a text field takes; a longer one rejects its row (a name or an address of a
megabyte is not data but a broken or hostile export)."""

DATE_FORMS = "2025-06-30, 2025/6/30, 2025.6.30, 20250630 or 2025年6月30日"
"""The forms a date may be written in; a time after it (``2025-06-30 00:00:00``) is dropped."""


ARROW_TYPES: MappingProxyType[str, pa.DataType] = MappingProxyType(
    {"string": pa.string(), "date": pa.date32(), "float": pa.float64(), "bool": pa.bool_()}
)
"""Arrow type of each stored field type (an enum is stored as a string)."""


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
    derived: bool = False
    """Set by the loader, never read from a file (``share_derived``)."""
    aliases: tuple[tuple[str, str], ...] = ()
    """Of an enum: (word as exports write it, value), e.g. (存续, active), read as the value."""

    @property
    def storage_type(self) -> str:
        """Type as stored: enums are strings."""
        return "string" if self.type == "enum" else self.type

    @property
    def reads(self) -> dict[str, str]:
        """Of an enum: every word the loader reads as a value (the values and their aliases),
        with the value it reads it as; for mapping scripts (docs/examples) to share."""
        return {**{v: v for v in self.values}, **dict(self.aliases)}

    @property
    def arrow_type(self) -> pa.DataType:
        """Arrow type of the column, in files, the store and snapshots."""
        return ARROW_TYPES[self.storage_type]


@dataclass(frozen=True)
class NodeSpec:
    """A node type: its label, source file and fields."""

    label: str
    file: str
    key: str
    store_key: str
    description: str
    fields: tuple[FieldSpec, ...]
    alternate_key: str | None = None
    """Keys a row whose ``key`` field is empty (a person's source id); a row needs one."""

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)

    @property
    def input_fields(self) -> tuple[FieldSpec, ...]:
        """Fields a file gives (derived ones, such as a person's ``identity``, are set by the
        loader)."""
        return tuple(f for f in self.fields if not f.derived)


@dataclass(frozen=True)
class EndSpec:
    """One end of a relation: the column holding the reference and its kind."""

    field: str
    ref: RefKind
    type_field: str | None = None
    name_field: str | None = None
    """Where ``field`` is empty, this column names a person known by name only, scoped to
    the row's enterprise (its other end)."""


@dataclass(frozen=True)
class KeySubstitute:
    """Where the key field ``field`` is empty, the row is keyed by ``fields`` instead (a
    guarantee published without its contract number)."""

    field: str
    fields: tuple[str, ...]


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
    key_substitute: KeySubstitute | None = None

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)

    @property
    def input_fields(self) -> tuple[FieldSpec, ...]:
        """Fields a file gives (derived ones are set by the loader)."""
        return tuple(f for f in self.fields if not f.derived)

    @property
    def property_fields(self) -> tuple[FieldSpec, ...]:
        """Fields stored on the relation (endpoints and the holder type are structure)."""
        structural = {
            self.source.field,
            self.target.field,
            self.source.type_field,
            self.source.name_field,
            self.target.name_field,
        }
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
class Adverse:
    """When a record in force counts against its enterprise (a *bad record*).

    ``listing``: the kind is a public list (its records in force make the enterprise
    *listed*); otherwise a record is bad when ``field`` is None (every record) or holds one
    of ``values``.
    """

    listing: bool = False
    field: str | None = None
    values: tuple[str | bool, ...] = ()

    def __str__(self) -> str:
        if self.listing:
            return "a listing: every entry in force (the enterprise is *listed*)"
        if self.field is None:
            return "every record in force"
        shown = " or ".join(f"`{str(v).lower()}`" for v in self.values)
        return f"records in force whose `{self.field}` is {shown}"


@dataclass(frozen=True)
class RecordSpec:
    """A kind of record on an enterprise (list entry, penalty, ...)."""

    kind: str
    file: str
    description: str
    fields: tuple[FieldSpec, ...]
    rules: RecordRules = RecordRules()
    key: tuple[str, ...] = ("record_no",)
    """Fields that, with the kind, identify a record (``id`` = ``kind:`` + them joined by
    ``|``)."""
    adverse: Adverse | None = None
    """When a record counts against its enterprise; None: never (context)."""

    def field(self, name: str) -> FieldSpec:
        return _find(self.fields, name)


GUARANTEE_DEFAULT = "guarantee_default"
"""The outcome event of a guaranteed loan that defaulted (``outcomes.guarantee_default``)."""

STATUS_OUTCOME = "status"
"""Prefix of the outcome events read from the enterprise's status (``status:revoked``)."""


@dataclass(frozen=True)
class RecordOutcome:
    """A record kind that can be a bad outcome: the whole kind (``kind``), or narrowed by
    the enum field ``by`` to one of its ``values`` (``kind:value``)."""

    kind: str
    by: str | None = None
    values: tuple[str, ...] = ()
    default: tuple[str, ...] = ()
    """The events of this kind taken when none are configured."""


@dataclass(frozen=True)
class Outcomes:
    """The events a model may learn as a bad outcome (``outcomes`` of domain.yaml)."""

    records: tuple[RecordOutcome, ...]
    status_field: str
    status_date: str
    status_values: tuple[str, ...]
    guarantee_relation: str
    guarantee_date: str
    guarantee_by_default: bool

    def record(self, kind: str) -> RecordOutcome | None:
        return next((r for r in self.records if r.kind == kind), None)

    @property
    def default_events(self) -> tuple[str, ...]:
        """The event names used when none are configured, in the order of domain.yaml."""
        events = [e for r in self.records for e in r.default]
        return (*events, GUARANTEE_DEFAULT) if self.guarantee_by_default else tuple(events)

    @property
    def choices(self) -> tuple[str, ...]:
        """Every event name that may be configured."""
        return (
            *(e for r in self.records for e in (r.kind, *(f"{r.kind}:{v}" for v in r.values))),
            *(f"{STATUS_OUTCOME}:{v}" for v in self.status_values),
            GUARANTEE_DEFAULT,
        )


@dataclass(frozen=True)
class Domain:
    """The whole domain: identifiers, nodes, relations and record kinds."""

    version: int
    identifiers: dict[str, Any]
    nodes: tuple[NodeSpec, ...]
    relations: tuple[RelationSpec, ...]
    records: tuple[RecordSpec, ...]
    outcomes: Outcomes

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
    def listing_kinds(self) -> tuple[str, ...]:
        """Record kinds that are public lists (an entry in force makes a firm *listed*)."""
        return tuple(r.kind for r in self.records if r.adverse is not None and r.adverse.listing)

    @property
    def adverse_kinds(self) -> tuple[RecordSpec, ...]:
        """Record kinds whose records (all, or some by a field) count against a firm."""
        return tuple(r for r in self.records if r.adverse is not None)

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
        if "aliases" in spec:
            spec["aliases"] = _aliases(spec["aliases"], spec.get("values", ()), name)
        out.append(FieldSpec(name=name, **spec))
    return tuple(out)


def _aliases(raw: Any, values: tuple[str, ...], name: str) -> tuple[tuple[str, str], ...]:
    """``{value: [words]}`` of domain.yaml as (word, value) pairs; every value must be one of
    the enum's and a word may name one value only."""
    if not isinstance(raw, dict) or not set(raw) <= set(values):
        raise ValueError(f"domain.yaml {name}: aliases must map values of {values} to words")
    pairs = [(str(word), value) for value, words in raw.items() for word in words]
    words = [word for word, _ in pairs]
    if len(set(words)) < len(words) or set(words) & set(values):
        raise ValueError(f"domain.yaml {name}: an alias names two values, or is a value")
    return tuple(pairs)


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


def _adverse(raw: Any, kind: str, fields: tuple[FieldSpec, ...]) -> Adverse | None:
    where = f"domain.yaml records.kinds.{kind}.adverse"
    if raw is None:
        return None
    if raw == "list":
        return Adverse(listing=True)
    if raw == "always":
        return Adverse()
    when = raw.get("when") if isinstance(raw, dict) and set(raw) == {"when"} else None
    if not isinstance(when, dict) or len(when) != 1:
        raise ValueError(f"{where}: expected list, always or {{when: {{field: [values]}}}}")
    ((name, values),) = when.items()
    spec = _find(fields, name)
    allowed: tuple[str | bool, ...] = (True, False) if spec.type == "bool" else spec.values
    if not allowed or not values or any(v not in allowed for v in values):
        raise ValueError(f"{where}: {values!r} are not values of the enum or bool {name!r}")
    return Adverse(field=name, values=tuple(values))


def _key_substitute(raw: Any, rel_type: str, fields: dict[str, Any]) -> KeySubstitute | None:
    if raw is None:
        return None
    names = set(fields)
    field, by = raw.get("for"), tuple(raw.get("fields", ()))
    if field not in names or not by or any(b not in names for b in by):
        raise ValueError(
            f"domain.yaml relations.{rel_type}.key_substitute: `for` and `fields` must name "
            "fields of the relation"
        )
    return KeySubstitute(field, by)


def _check_name_field(rel_type: str, source: EndSpec, target: EndSpec, fields: Any) -> None:
    """A name-only person is scoped to the enterprise of the row: only a person (or party)
    source end whose target is an enterprise may name one."""
    if target.name_field is not None or (
        source.name_field is not None
        and (
            source.ref == "enterprise"
            or target.ref != "enterprise"
            or source.name_field not in fields
        )
    ):
        raise ValueError(
            f"domain.yaml relations.{rel_type}: `name_field` belongs on a person or party "
            "`from` end whose `to` is an enterprise, and must name a field of the relation"
        )


def _end(raw: dict[str, Any]) -> EndSpec:
    return EndSpec(
        field=raw["field"],
        ref=raw["ref"],
        type_field=raw.get("type_field"),
        name_field=raw.get("name_field"),
    )


def _outcomes(
    raw: dict[str, Any],
    records: tuple[RecordSpec, ...],
    enterprise: NodeSpec,
    relations: tuple[RelationSpec, ...],
) -> Outcomes:
    """The ``outcomes`` section, checked against the kinds and fields it names."""
    where = "domain.yaml outcomes"
    kinds = {r.kind: r for r in records}
    found = []
    for kind, spec in (raw.get("records") or {}).items():
        spec = spec or {}
        if kind not in kinds or set(spec) - {"by", "default"}:
            raise ValueError(f"{where}.records.{kind}: not a record kind, or keys not by/default")
        by = spec.get("by")
        values = _find(kinds[kind].fields, by).values if by else ()
        if by and not values:
            raise ValueError(f"{where}.records.{kind}: `by` must name an enum field")
        default = spec.get("default", False)
        if default is True:
            events: tuple[str, ...] = (kind,)
        elif default is False:
            events = ()
        elif by and isinstance(default, list) and all(v in values for v in default):
            events = tuple(f"{kind}:{v}" for v in default)
        else:
            raise ValueError(f"{where}.records.{kind}.default: true, or values of `{by}`")
        found.append(RecordOutcome(kind, by, values, events))
    status = raw["status"]
    allowed = _find(enterprise.fields, status["field"]).values
    if not set(status["values"]) <= set(allowed):
        raise ValueError(f"{where}.status.values: not values of Enterprise.{status['field']}")
    _find(enterprise.fields, status["date"])
    guarantee = raw["guarantee_default"]
    rel = next((r for r in relations if r.type == guarantee["relation"]), None)
    if rel is None:
        raise ValueError(f"{where}.guarantee_default.relation: not a relation type")
    _find(rel.fields, guarantee["date"])
    return Outcomes(
        records=tuple(found),
        status_field=status["field"],
        status_date=status["date"],
        status_values=tuple(status["values"]),
        guarantee_relation=rel.type,
        guarantee_date=guarantee["date"],
        guarantee_by_default=bool(guarantee.get("default", False)),
    )


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
            alternate_key=spec.get("alternate_key"),
        )
        for label, spec in raw["nodes"].items()
    )
    for rel_type, spec in raw["relations"].items():
        _check_name_field(rel_type, _end(spec["from"]), _end(spec["to"]), spec["fields"])
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
            key_substitute=_key_substitute(spec.get("key_substitute"), rel_type, spec["fields"]),
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
                key=tuple(spec.get("key", ("record_no",))),
                adverse=_adverse(spec.get("adverse"), kind, fields),
            )
        )
    return Domain(
        version=raw["version"],
        identifiers=raw["identifiers"],
        nodes=nodes,
        relations=relations,
        records=tuple(records),
        outcomes=_outcomes(
            raw["outcomes"],
            tuple(records),
            next(n for n in nodes if n.label == "Enterprise"),
            relations,
        ),
    )
