"""Request and response models of the HTTP API, with the checks made at the edge.

Enterprise ids are checked here, before anything reaches a query: a USCC must have the
right check character (GB 32100-2015), other ids must follow a documented external scheme.
Depths, page sizes and offsets are bounded. Every field has a description and examples;
the OpenAPI document (``/openapi.json``) is generated from these models.

Person names pass through :meth:`api.auth.Caller.person_name` wherever a node is built, so a
bank or analyst never sees a whole name.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import Path, Query
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import Caller
from graph_model.identifiers import USCC_ALPHABET, enterprise_id_valid_array, uscc_check_char
from graph_model.store.protocol import Edge, NodeRef
from graph_model.store.protocol import Path as StorePath
from risk.model.reasons import Reason
from risk.model.scores import GradeRecord
from risk.screening import Level, Status
from risk.snapshot_index import SnapshotIndex, finite
from risk.supervision.plans import PlanRecord
from risk.supervision.walk import Step
from risk.wording import Language, evidence_text, reason_sentence

USCC_EXAMPLE = "91350100M000100Y43"
MAX_LIMIT = 200
MAX_OFFSET = 10_000
"""Deepest page of a list computed from the graph (each page walks everything before it)."""
MAX_TABLE_OFFSET = 10_000_000
"""Deepest page of a stored list (warnings): an index makes any page cheap, and every row
must stay reachable."""
EARLIEST = date(1949, 10, 1)
LATEST = date(2999, 12, 31)


def check_enterprise_id(value: str) -> str:
    """A USCC with a valid check character (upper-cased) or a documented external id."""
    upper = value.upper()
    if len(upper) == 18 and enterprise_id_valid_array([upper])[0]:
        return upper
    if enterprise_id_valid_array([value])[0]:
        return value
    if len(upper) == 18 and all(c in USCC_ALPHABET for c in upper):
        raise ValueError(
            f"{value!r} is not a valid USCC: its check character (position 18) should be "
            f"{uscc_check_char(upper[:17])!r}"
        )
    raise ValueError(
        f"{value[:40]!r} is not an enterprise id: give a USCC (18 characters of "
        f"{USCC_ALPHABET}, GB 32100-2015) or an external id REG:…, FOREIGN:…, SRC:…"
    )


EnterpriseIdPath = Annotated[
    str,
    Path(
        description="USCC (统一社会信用代码) or external id (REG:…, FOREIGN:…, SRC:…)",
        examples=[USCC_EXAMPLE],
        min_length=1,
        max_length=100,
    ),
    AfterValidator(check_enterprise_id),
]
EnterpriseIdQuery = Annotated[
    str,
    Query(description="USCC or external id", examples=[USCC_EXAMPLE], min_length=1, max_length=100),
    AfterValidator(check_enterprise_id),
]


def _check_optional_id(value: str | None) -> str | None:
    return None if value is None else check_enterprise_id(value)


OptionalEnterpriseIdQuery = Annotated[
    str | None,
    Query(description="USCC or external id", examples=[USCC_EXAMPLE], max_length=100),
    AfterValidator(_check_optional_id),
]
Limit = Annotated[
    int, Query(ge=1, le=MAX_LIMIT, description=f"Page size, 1–{MAX_LIMIT}", examples=[50])
]
Offset = Annotated[
    int, Query(ge=0, le=MAX_OFFSET, description=f"Items to skip, 0–{MAX_OFFSET}", examples=[0])
]
TableOffset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_TABLE_OFFSET,
        description=f"Items to skip, 0–{MAX_TABLE_OFFSET:,}",
        examples=[0],
    ),
]
COUNTED = MAX_OFFSET + MAX_LIMIT
"""Items of a list walked from the graph that are counted: every reachable page, no more."""


AsOf = Annotated[
    date | None,
    Query(
        ge=EARLIEST,
        le=LATEST,
        description="Relations valid on this day (yyyy-mm-dd); default: the date of the "
        "served snapshot (today without one)",
        examples=["2025-12-31"],
    ),
]


class Model(BaseModel):
    """Base of every API model: unknown fields are refused in requests."""

    model_config = ConfigDict(extra="forbid")


class Paged(Model):
    """The envelope of every list answer: the page's ``items`` (in each model), how many the
    whole list holds and where the next page starts. Page with ``offset`` and ``limit``."""

    total: int = Field(
        description="Items of the whole list, the same on every page (see total_exact)",
        examples=[2644],
    )
    total_exact: bool = Field(
        description="false when counting stopped at the deepest reachable page of a list "
        f"walked from the graph ({COUNTED:,} items): there are at least `total`",
        examples=[True],
    )
    next_offset: int | None = Field(
        description="Offset of the next page; null on the last", examples=[50]
    )

    @staticmethod
    def of(total: int, offset: int, limit: int, exact: bool = True) -> dict[str, Any]:
        """The envelope's fields for a page at ``offset`` of ``limit`` items of ``total``
        (not ``exact``: at least ``total``, so there is a next page while one is reachable)."""
        end = offset + limit
        more = total > end or (not exact and end <= MAX_OFFSET)
        return {"total": total, "total_exact": exact, "next_offset": end if more else None}


# -- errors ------------------------------------------------------------------------------


class FieldError(Model):
    location: str = Field(description="Where: path, query or body, then the field")
    message: str


class ErrorOut(Model):
    """Every error answer."""

    code: str = Field(examples=["not_found"], description="Stable error code")
    message: str = Field(examples=["no enterprise 91350100M000100Y43"])
    errors: list[FieldError] = Field(default=[], description="Per-field problems (422)")


# -- graph values ------------------------------------------------------------------------


class NodeOut(Model):
    """A node: enterprise (by its id) or person (by its salted key; name masked for banks
    and analysts)."""

    label: Literal["Enterprise", "Person"] = Field(examples=["Enterprise"])
    id: str = Field(examples=[USCC_EXAMPLE])
    name: str | None = Field(examples=["宁波甬信贸易有限公司"])

    @classmethod
    def of(cls, ref: NodeRef, caller: Caller) -> NodeOut:
        name = caller.person_name(ref.name) if ref.label == "Person" else ref.name
        return cls(label="Person" if ref.label == "Person" else "Enterprise", id=ref.id, name=name)

    @classmethod
    def at(cls, index: SnapshotIndex, node: int, caller: Caller) -> NodeOut:
        label = "Person" if index.is_person(node) else "Enterprise"
        return cls.of(NodeRef(label, str(index.ids[node]), index.names[node]), caller)


class EdgeOut(Model):
    """A relation as stored: source → target, with its properties (dates, amounts, stakes)."""

    type: str = Field(examples=["HOLDS_SHARES"])
    source: str
    target: str
    properties: dict[str, Any] = Field(default={}, examples=[{"share": 0.6}])

    @classmethod
    def of(cls, edge: Edge) -> EdgeOut:
        return cls(
            type=edge.type, source=edge.source, target=edge.target, properties=edge.properties
        )


class PathOut(Model):
    """A path: n+1 nodes and the n relations between them, in walking order."""

    length: int
    nodes: list[NodeOut]
    edges: list[EdgeOut]

    @classmethod
    def of(cls, path: StorePath, caller: Caller) -> PathOut:
        return cls(
            length=path.length,
            nodes=[NodeOut.of(n, caller) for n in path.nodes],
            edges=[EdgeOut.of(e) for e in path.edges],
        )

    @classmethod
    def from_steps(
        cls, index: SnapshotIndex, start: int, steps: tuple[Step, ...], caller: Caller
    ) -> PathOut:
        """A path of snapshot steps (relations as stored) walked from node ``start``."""
        nodes = [NodeOut.at(index, start, caller)]
        current = nodes[0].id
        for step in steps:
            current = step.target if step.source == current else step.source
            found = index.node(current)
            nodes.append(
                NodeOut.at(index, found, caller)
                if found is not None
                else NodeOut(label="Enterprise", id=current, name=None)
            )
        edges = [EdgeOut(type=s.type, source=s.source, target=s.target) for s in steps]
        return cls(length=len(steps), nodes=nodes, edges=edges)


# -- enterprises -------------------------------------------------------------------------


class RecordOut(Model):
    """A record on an enterprise (list entry, penalty, commitment, inspection…)."""

    id: str = Field(examples=["black_list:浙甬市监严〔2024〕12号"])
    kind: str = Field(examples=["black_list"])
    start: date | None
    end: date | None = Field(description="Effective end: the given end cut by the publicity window")
    in_force: bool = Field(description="In force today")
    disputed: bool = Field(description="An objection (异议) is pending; the record still counts")
    fields: dict[str, Any] = Field(description="The kind's own fields (reason, authority, amount…)")


class EvidenceOut(Model):
    text: str = Field(description="The evidence in words, in the Accept-Language language")
    nodes: list[str]


class ReasonOut(Model):
    """A feature that raised the score, with the catalog's sentence and graph evidence."""

    feature: str = Field(examples=["legal_rep_bad_firms"])
    value: float | None
    contribution: float = Field(description="Log-odds contribution (TreeSHAP)")
    sentence: str = Field(
        description="The catalog's sentence for the value, in the Accept-Language language",
        examples=["Its legal representative leads 3 other firm(s) with bad records"],
    )
    evidence: list[EvidenceOut]

    @classmethod
    def of(cls, reason: Reason, lang: Language = "en") -> ReasonOut:
        return cls(
            feature=reason.feature,
            value=finite(reason.value),
            contribution=reason.contribution,
            sentence=reason_sentence(reason.feature, reason.value, lang, reason.sentence),
            evidence=[
                EvidenceOut(text=evidence_text(e.steps, lang, e.text), nodes=list(e.nodes))
                for e in reason.evidence
            ],
        )


class GradeOut(Model):
    """A stored grade (regulators only): class, score, rank and reasons of one date."""

    as_of: date = Field(examples=["2025-12-31"])
    model_version: str
    grade: str = Field(examples=["C"])
    score: float = Field(description="Calibrated probability of a bad outcome in the horizon")
    rank: int = Field(description="1 = highest score of the date")
    population: int
    reasons: list[ReasonOut] | None = Field(
        description="Top reasons with evidence; null when the date did not explain this firm"
    )

    @classmethod
    def of(cls, record: GradeRecord, lang: Language = "en") -> GradeOut:
        return cls(
            as_of=record.as_of,
            model_version=record.model_version,
            grade=record.grade,
            score=record.score,
            rank=record.rank,
            population=record.population,
            reasons=[ReasonOut.of(r, lang) for r in record.reasons]
            if record.reasons is not None
            else None,
        )


class EnterpriseOut(Model):
    """An enterprise's profile: register data, records with validity, grade for regulators."""

    id: str = Field(examples=[USCC_EXAMPLE])
    name: str | None = Field(examples=["宁波甬信贸易有限公司"])
    properties: dict[str, Any] = Field(
        examples=[{"region_code": "330203", "industry": "F", "status": "active"}]
    )
    region_name: str | None = Field(
        default=None,
        description="Name of `region_code` in the answer's language; null when none is stored",
        examples=["宁波市海曙区"],
    )
    industry_name: str | None = Field(
        default=None,
        description="Name of the `industry` section (GB/T 4754-2017) in the answer's language",
        examples=["批发和零售业"],
    )
    records: list[RecordOut]
    grade: GradeOut | None = Field(
        default=None,
        description="Latest stored grade: regulators only; null for other roles or when ungraded",
    )


class SearchOut(Paged):
    items: list[NodeOut]


class NeighbourOut(Model):
    node: NodeOut
    edge: EdgeOut


class NeighboursOut(Paged):
    enterprise_id: str
    items: list[NeighbourOut]


class RelatedPartiesOut(Paged):
    """Enterprises tied within ``hops`` through people, holdings and guarantees (关联方)."""

    enterprise_id: str
    hops: int
    as_of: date
    items: list[PathOut] = Field(description="One shortest path per related enterprise")


class StakeOut(Model):
    """A stake: direct (null when none) and integrated over every ownership path."""

    node: NodeOut
    direct: float | None = Field(examples=[0.4])
    integrated: float = Field(examples=[0.52])


class OwnershipOut(Model):
    enterprise_id: str
    direction: Literal["up", "down"]
    depth: int
    as_of: date
    chains: list[PathOut] = Field(description="Shareholding chains from the store (as_of)")
    stakes_as_of: date | None = Field(description="Date of the snapshot the stakes come from")
    stakes: list[StakeOut] = Field(
        description="Integrated ownership: of each holder in it (up), or its own in each firm"
    )


class BeneficialOwnersOut(Model):
    """Beneficial owners (PBoC/SAMR Order 〔2024〕3号): persons with ≥ 25 % of the equity,
    directly and indirectly; failing that, the senior manager (here the legal representative)."""

    enterprise_id: str
    as_of: date
    basis: Literal["equity", "senior_manager", "none"]
    owners: list[StakeOut]


class PathBetweenOut(Model):
    source: str
    target: str
    max_hops: int
    as_of: date = Field(description="Date of the snapshot searched")
    path: PathOut | None = Field(description="A shortest path; null when none within max_hops")


# -- circles -----------------------------------------------------------------------------


class CircleSummaryOut(Model):
    """A guarantee circle (担保圈): its id is its smallest member id."""

    circle_id: str = Field(examples=["91330203636372113M"])
    size: int = Field(examples=[9])
    guarantees: int
    total_amount: float = Field(
        description="Guaranteed amount inside the circle in CNY: guarantees in other currencies "
        "converted with the data home's rate table; those without a rate are in `unconverted`",
        examples=[90_010_000.0],
    )
    unconverted: dict[str, float] = Field(
        description="Guaranteed amounts inside the circle with no rate to CNY, per ISO 4217 "
        "currency, in that currency; not in total_amount. Empty when every amount converted",
        examples=[{"USD": 1_000_000.0}],
    )
    bad_share: float = Field(description="Share of members with bad records", examples=[0.11])
    defaulted: int = Field(description="Guarantees inside the circle whose loan defaulted")


class CirclesOut(Paged):
    as_of: date
    items: list[CircleSummaryOut]


class CircleMemberOut(Model):
    enterprise: NodeOut
    bad: bool


class CircleEdgeOut(Model):
    guarantor: str
    guaranteed: str
    amount: float = Field(description="Guaranteed amount as given, in `currency`")
    currency: str = Field(description="ISO 4217 currency of `amount`", examples=["CNY", "USD"])
    amount_cny: float | None = Field(
        description="The amount in CNY (the rate table's rate of the snapshot's day); null when "
        "the currency has no rate",
        examples=[7_100_000.0],
    )
    defaulted: bool


class CircleOut(CircleSummaryOut):
    as_of: date
    members: list[CircleMemberOut]
    edges: list[CircleEdgeOut]


class EnterpriseCircleOut(Model):
    enterprise_id: str
    circle: CircleOut | None = Field(description="Null when the enterprise is in no circle")


# -- screening ---------------------------------------------------------------------------


class FindingOut(Model):
    code: str = Field(examples=["own_black_list"])
    level: Level
    text: str
    subjects: list[str]


class RelatedExposureOut(Model):
    hops: int
    bad: int = Field(description="Related enterprises with bad records")
    black_listed: int
    examples: list[PathOut] = Field(description="The nearest ones, black-listed first")


class SharedContactOut(Model):
    """A suspected relation (疑似关系): a contact the enterprise shares with other firms."""

    contact: str = Field(description="address, phone or email", examples=["phone"])
    value: str = Field(
        description="The shared value; a phone or e-mail masked, as it may be a person's",
        examples=["138*****21"],
    )
    firms: int = Field(description="Firms using it, the enterprise itself included")
    bad: int = Field(description="Of the others, those with bad records")
    black_listed: int
    weak: bool = Field(
        description="Used by more than 10 firms (an agent's or a cluster address): weak "
        "evidence of a tie, noted but not raising the level"
    )
    examples: list[NodeOut] = Field(description="Up to 5 of the others, black-listed first")


class ScreeningOut(Model):
    """A screening level from public facts (not the grade) with its reasons, as of the
    served snapshot's date (records included)."""

    enterprise: NodeOut
    level: Level
    findings: list[FindingOut]
    active_records: list[RecordOut] = Field(description="Records in force on snapshot_as_of")
    related: RelatedExposureOut | None
    shared_contacts: list[SharedContactOut] = Field(
        description="Addresses, phones and e-mails shared with other firms, rare ones first"
    )
    circle: CircleSummaryOut | None
    snapshot_as_of: date | None
    notes: list[str]
    grade: GradeOut | None = Field(default=None, description="Regulators only")


class BatchScreeningIn(Model):
    """Up to 100 queries: USCCs, external ids or enterprise names."""

    queries: list[Annotated[str, Field(max_length=200)]] = Field(
        min_length=1,
        max_length=100,
        examples=[[USCC_EXAMPLE, "宁波甬信贸易有限公司"]],
    )


class ScreeningItemOut(Model):
    query: str
    status: Status
    message: str | None = None
    candidates: list[NodeOut] = []
    result: ScreeningOut | None = None


class BatchScreeningOut(Model):
    items: list[ScreeningItemOut]


# -- supervision -------------------------------------------------------------------------

# 12 hex characters of the draw's digest (6 in plans recorded before ids named the whole draw).
PLAN_ID_PATTERN = r"^\d{4}-\d{2}-\d{2}-[0-9a-f]{6}(?:[0-9a-f]{6})?-\d{8}$"
INSPECTORS_PATTERN = r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,63}\.(csv|parquet)$"
PlanId = Annotated[
    str,
    Path(pattern=PLAN_ID_PATTERN, examples=["2025-12-31-a1b2c3d4e5f6-01234567"], max_length=40),
]


class PlanIn(Model):
    """A plan draw: the plan's parameters (docs/supervision.md) and the inspector file."""

    spec: dict[str, Any] = Field(
        description="PlanSpec: item, as_of, grading (model version), preset, ratios, …",
        examples=[
            {"item": "食品安全抽查", "as_of": "2025-12-31", "grading": "m-2025-12", "seed": 7}
        ],
    )
    inspectors: str = Field(
        pattern=INSPECTORS_PATTERN,
        description="Inspector file in the data home's inspectors folder",
        examples=["inspectors.csv"],
    )


class ReplayIn(Model):
    inspectors: str = Field(pattern=INSPECTORS_PATTERN, examples=["inspectors.csv"])


class PlanSummaryOut(Model):
    plan_id: str
    created_at: str
    item: str
    as_of: date
    objects: int
    recusals: int
    unassigned: int


class PlansOut(Paged):
    items: list[PlanSummaryOut]


class PlanOut(PlanRecord):
    """A recorded plan (internal: grades and forced reasons; see the export for publication)."""

    already_recorded: bool = Field(
        default=False,
        description="On a draw: the same draw (spec, seed, pool, inspectors) was recorded "
        "before; this is that record, unchanged (a recorded plan is never replaced).",
    )


class ReplayOut(Model):
    plan_id: str
    identical: bool
    objects: int


class ExtensionRowOut(Model):
    black_listed: NodeOut
    related: NodeOut
    hops: int
    grade: str | None
    score: float | None
    path: list[list[str]] = Field(description="[[source, RELATION, target], …] as stored")


class ExtensionChecksOut(Paged):
    as_of: date
    hops: int
    items: list[ExtensionRowOut]


WarningState = Literal["new", "seen", "closed"]
WarningType = Literal[
    "grade_worsened", "related_bad_record", "circle_member_default", "person_tied_to_listed"
]


class WarningOut(Model):
    id: int
    type: str
    enterprise_id: str
    subject: str
    event_on: str
    as_of: str
    evidence: str = Field(
        description="The path to the cause in store ids and relation types, as raised",
        examples=["F8 <-[LEGAL_REP]- P2 -[LEGAL_REP]-> F7 -[HAS_RECORD]-> black_list:HM-1"],
    )
    evidence_text: str = Field(
        description="The same path in words, in the Accept-Language language (ids as stored)",
        examples=[
            "F8 ←legal representative– P2 –legal representative→ F7 –record→ black list HM-1"
        ],
    )
    disputed: bool
    state: str


class WarningsOut(Paged):
    items: list[WarningOut]


class StateChangeOut(Model):
    at: str
    actor: str
    from_state: str
    to_state: str
    note: str | None


class WarningDetailOut(Model):
    warning: WarningOut
    history: list[StateChangeOut]


class StateIn(Model):
    state: Literal["seen", "closed"]
    note: str | None = Field(default=None, max_length=1000)


class WatchlistIn(Model):
    name: str = Field(min_length=1, max_length=100, examples=["重点客户"])


class MembersIn(Model):
    enterprise_ids: list[
        Annotated[str, Field(max_length=100), AfterValidator(check_enterprise_id)]
    ] = Field(min_length=1, max_length=1000, examples=[[USCC_EXAMPLE]])


class WatchlistOut(Model):
    name: str
    owner: str
    owner_kind: str
    created_at: str
    members: list[str]


class WatchlistsOut(Paged):
    items: list[WatchlistOut]


class MembersChangedOut(Model):
    watchlist: str
    changed: int


# -- audit and health ---------------------------------------------------------------------


class AuditEntryOut(Model):
    id: int
    at: str = Field(examples=["2026-11-21T23:59:01.123Z"])
    client: str
    role: str | None
    method: str
    route: str | None
    path: str
    status: int
    duration_ms: float
    subjects: list[str]


class AuditOut(Paged):
    items: list[AuditEntryOut]
    before_id: int = Field(
        description="The rows listed are older than this one: pass it back with the next "
        "offset, so that rows logged meanwhile (this request's among them) do not shift pages"
    )


class HealthOut(Model):
    status: Literal["ok"]


class ReadyOut(Model):
    ready: bool
    store: str = Field(description="ok, or why the store is not reachable")
    snapshot_as_of: date | None
    grades_as_of: date | None
    model_version: str | None = Field(description="Model of the served grades")
    current_model: str | None = Field(description="models/CURRENT")
    dates_match: bool | None = Field(
        description="The snapshot and the grades served are of the same date (null when "
        "either is missing); when not, problems says what to do"
    )
    problems: list[str]
