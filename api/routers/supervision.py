"""Supervision: sampling plans (regulators), extension checks, warnings and watchlists.

A plan draw runs inside its POST (about 6 s for a 1M-enterprise city, docs/benchmarks.md),
one at a time: a second draw while one runs gets 429. Draws and replays use the served
snapshot and the grades stored for the plan's date and model version; plans of other dates
are drawn and replayed with the command line (``creditgraph plan``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Annotated, Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import APIRouter, Path, Query, Response
from pydantic import ValidationError

from api.auth import Caller, Regulator, Watcher, document_roles
from api.errors import Busy, Forbidden, Invalid, NotFound
from api.language import AnswerLanguage
from api.routers.enterprises import enterprise_or_404
from api.schemas.common import (
    EARLIEST,
    LATEST,
    Limit,
    NodeOut,
    Offset,
    OptionalEnterpriseIdQuery,
    Paged,
    TableOffset,
)
from api.schemas.supervision import (
    ExtensionChecksOut,
    ExtensionRowOut,
    PlanId,
    PlanIn,
    PlanOut,
    PlansOut,
    PlanSummaryOut,
    ReplayIn,
    ReplayOut,
)
from api.schemas.warnings import (
    MembersChangedOut,
    MembersIn,
    StateChangeOut,
    StateIn,
    WarningDetailOut,
    WarningOut,
    WarningsOut,
    WarningState,
    WarningType,
    WatchlistIn,
    WatchlistOut,
    WatchlistsOut,
)
from api.services import EXTENSION_HOPS, Services, ServicesDep
from graph_model.snapshot import Snapshot
from graph_model.store.protocol import NodeRef
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import Inspector, read_inspectors
from risk.supervision.plans import PlanRecord, draw_plan, publication, replay
from risk.supervision.registry import Registry, SupervisionError, open_registry
from risk.supervision.sampling import PlanSpec
from risk.supervision.warning_registry import (
    StoredWarning,
    count_warnings,
    get_warning,
    list_warnings,
    set_state,
)
from risk.supervision.watchlists import (
    Watchlist,
    add_members,
    all_watchlists,
    create_watchlist,
    remove_members,
    show_watchlist,
)
from risk.wording import Language, warning_evidence

router = APIRouter(prefix="/v1", tags=["supervision"])

GRADE_WARNINGS = ("grade_worsened",)
"""Warning types that reveal grades: regulators only."""


# -- plans --------------------------------------------------------------------------------


def _served_snapshot(services: Services, day: date) -> Snapshot:
    snapshot = services.snapshot
    if snapshot is None:
        raise Invalid(f"no snapshot is served: {services.snapshot_problem}")
    if snapshot.as_of != day:
        raise Invalid(
            f"the API draws and replays plans on the served snapshot of {snapshot.as_of}; "
            f"use `creditgraph plan` for a plan of {day}"
        )
    return snapshot


def _grading(services: Services, day: date, model_version: str) -> pa.Table:
    path = services.home.scores_file(day, model_version)
    if path is None:
        raise Invalid(
            f"no grades of model {model_version!r} stored for {day}: run `creditgraph score "
            f"--as-of {day}` with that model, or name the grading that was stored"
        )
    return pq.read_table(path, columns=["id", "grade", "score"])


def _inspectors(services: Services, name: str) -> list[Inspector]:
    path = services.settings.inspectors_dir / name
    if not path.is_file():
        raise Invalid(f"no inspector file {name!r} in {services.settings.inspectors_dir}")
    return read_inspectors(path, services.settings.person_id_salt)


def _plan(services: Services, plan_id: str) -> PlanRecord:
    if not (services.settings.plans_dir / f"{plan_id}.json").is_file():
        raise NotFound(f"no plan {plan_id}")
    return PlanRecord.load(services.settings.plans_dir, plan_id)


@contextmanager
def _one_draw_at_a_time(services: Services) -> Iterator[None]:
    if not services.plan_lock.acquire(blocking=False):
        raise Busy("another plan is being drawn; retry in a few seconds")
    try:
        yield
    finally:
        services.plan_lock.release()


def _summary(record: PlanRecord) -> PlanSummaryOut:
    return PlanSummaryOut(
        plan_id=record.plan_id,
        created_at=record.created_at,
        item=record.spec["item"],
        as_of=date.fromisoformat(record.spec["as_of"]),
        objects=len(record.objects),
        recusals=len(record.recusals),
        unassigned=len(record.unassigned),
    )


def _plan_out(record: PlanRecord, already_recorded: bool = False) -> PlanOut:
    return PlanOut(**record.model_dump(), already_recorded=already_recorded)


@router.post(
    "/plans",
    status_code=201,
    summary="Draw a sampling plan (双随机)",
    responses={200: {"description": "The same draw was recorded before: that plan, unchanged"}},
)
def create_plan(
    services: ServicesDep, caller: Regulator, body: PlanIn, response: Response
) -> PlanOut:
    """Draw objects by class ratios, forced objects on top, inspectors with recusal; record
    the plan (seed, pool fingerprint) so anyone can replay it. Takes seconds; one at a time.
    A recorded plan is never replaced: drawing the same thing again (same spec and seed, pool
    and inspectors) answers 200 with the recorded plan and ``already_recorded``."""
    try:
        spec = PlanSpec.model_validate(body.spec)
    except ValidationError as exc:
        problems = "; ".join(
            f"spec.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
        )
        raise Invalid(problems) from None
    snapshot = _served_snapshot(services, spec.as_of)
    grading = _grading(services, spec.as_of, spec.grading)
    inspectors = _inspectors(services, body.inspectors)
    with _one_draw_at_a_time(services):
        drawn = draw_plan(snapshot, grading, inspectors, spec)
        record, _, created = drawn.save(services.settings.plans_dir)
    if not created:
        response.status_code = 200
    return _plan_out(record, already_recorded=not created)


@router.get("/plans", summary="Recorded plans, oldest first")
def plans(
    services: ServicesDep, caller: Regulator, limit: Limit = 100, offset: TableOffset = 0
) -> PlansOut:
    """Every recorded plan, paged; only the plans of the page are read."""
    folder = services.settings.plans_dir
    paths = sorted(folder.glob("*.json")) if folder.is_dir() else []
    return PlansOut(
        items=[_summary(PlanRecord.load(folder, p.stem)) for p in paths[offset : offset + limit]],
        **Paged.of(len(paths), offset, limit),
    )


@router.get("/plans/{plan_id}", summary="A recorded plan (internal: grades included)")
def plan(services: ServicesDep, caller: Regulator, plan_id: PlanId) -> PlanOut:
    return _plan_out(_plan(services, plan_id))


@router.post("/plans/{plan_id}/replay", summary="Replay a plan from its record")
def replay_plan(
    services: ServicesDep, caller: Regulator, plan_id: PlanId, body: ReplayIn
) -> ReplayOut:
    """Rebuild the pool and draw again with the recorded seed: 409 with what changed when the
    pool or the inspectors differ."""
    record = _plan(services, plan_id)
    spec = PlanSpec.model_validate(record.spec)
    snapshot = _served_snapshot(services, spec.as_of)
    grading = _grading(services, spec.as_of, spec.grading)
    inspectors = _inspectors(services, body.inspectors)
    with _one_draw_at_a_time(services):
        replay(record, snapshot, grading, inspectors)
    return ReplayOut(plan_id=plan_id, identical=True, objects=len(record.objects))


@router.get(
    "/plans/{plan_id}/export",
    summary="The plan for publication (一公开): no grades, scores or forced reasons",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}, "application/json": {}}}},
)
def export_plan(
    services: ServicesDep,
    caller: Regulator,
    plan_id: PlanId,
    format: Annotated[Literal["csv", "json"], Query(description="csv or json")] = "csv",
) -> Response:
    text = publication(_plan(services, plan_id), format)
    media = "text/csv; charset=utf-8" if format == "csv" else "application/json"
    return Response(text, media_type=media)


# -- extension checks ----------------------------------------------------------------------


@router.get("/extension-checks", summary="延伸检查: related firms of black-listed enterprises")
def extension(
    services: ServicesDep,
    caller: Regulator,
    black_listed: OptionalEnterpriseIdQuery = None,
    hops: Annotated[
        int, Query(ge=1, le=4, description="1–4; the whole list is kept at 2")
    ] = EXTENSION_HOPS,
    limit: Limit = 100,
    offset: Offset = 0,
) -> ExtensionChecksOut:
    """For each black-listed enterprise, the firms within ``hops`` through people and
    holdings, ranked by score, with the path. The list of every black-listed firm is computed
    at start-up at 2 hops; for one firm (``black_listed``) any depth is computed on request."""
    index = services.require_index()
    snapshot = services.snapshot
    assert snapshot is not None
    if black_listed is not None:
        row = index.enterprise(black_listed)
        if row is None:
            raise NotFound(f"no enterprise {black_listed} in the snapshot of {index.as_of}")
        grades = services.grades
        grading = grades.grading() if grades is not None and grades.as_of == index.as_of else None
        table = extension_checks(snapshot, grading, hops, targets=np.array([row]))
    elif hops != EXTENSION_HOPS:
        raise Invalid(
            f"the list of every black-listed firm is kept at {EXTENSION_HOPS} hops; "
            "give black_listed= for another depth"
        )
    else:
        assert services.extension is not None
        table = services.extension
    page = table.slice(offset, limit).to_pylist()
    return ExtensionChecksOut(
        as_of=index.as_of,
        hops=hops,
        items=[
            ExtensionRowOut(
                black_listed=NodeOut.of(
                    NodeRef("Enterprise", r["black_listed_id"], r["black_listed_name"]), caller
                ),
                related=NodeOut.of(
                    NodeRef("Enterprise", r["related_id"], r["related_name"]), caller
                ),
                hops=r["hops"],
                grade=r["grade"],
                score=r["score"],
                path=json.loads(r["path"]),
            )
            for r in page
        ],
        **Paged.of(table.num_rows, offset, limit),
    )


# -- warnings and watchlists ----------------------------------------------------------------


@contextmanager
def _registry(services: Services, write: bool = False) -> Iterator[Registry]:
    # One connection per request: sqlite3 connections stay on their thread. Reads never
    # create the registry: a data home without one has nothing recorded yet.
    with open_registry(services.settings.supervision_path, read_only=not write) as registry:
        yield registry


def _warning_out(w: StoredWarning, lang: Language = "en") -> WarningOut:
    return WarningOut(
        id=w.id,
        type=w.type,
        enterprise_id=w.enterprise_id,
        subject=w.subject,
        event_on=w.event_on,
        as_of=w.as_of,
        evidence=w.evidence,
        evidence_text=warning_evidence(w.evidence, lang),
        disputed=w.disputed,
        state=w.state,
    )


def _watchlist(registry: Registry, name: str, caller: Caller, write: bool = False) -> Watchlist:
    """A watchlist the caller may read (banks: their own) or change (everyone: their own)."""
    try:
        found = show_watchlist(registry, name)
    except SupervisionError:
        raise NotFound(f"no watchlist {name!r}") from None
    own = found.owner == caller.name and found.owner_kind == caller.role
    if not own and (write or caller.role != "regulator"):
        # Another client's list: say nothing about it.
        raise NotFound(f"no watchlist {name!r}")
    return found


def _watchlist_out(w: Watchlist) -> WatchlistOut:
    return WatchlistOut(
        name=w.name,
        owner=w.owner,
        owner_kind=w.owner_kind,
        created_at=w.created_at,
        members=list(w.members),
    )


WatchlistName = Annotated[str, Path(min_length=1, max_length=100, description="Watchlist name")]


@router.get("/warnings", summary="Warnings (风险预警) with their state")
def warnings(
    services: ServicesDep,
    caller: Watcher,
    lang: AnswerLanguage,
    watchlist: Annotated[
        str | None, Query(max_length=100, description="Members of this list (banks: required)")
    ] = None,
    state: Annotated[WarningState | None, Query()] = None,
    type: Annotated[WarningType | None, Query()] = None,
    enterprise_id: OptionalEnterpriseIdQuery = None,
    as_of: Annotated[date | None, Query(ge=EARLIEST, le=LATEST)] = None,
    limit: Limit = 100,
    offset: TableOffset = 0,
) -> WarningsOut:
    """Stored warnings, newest run first, paged (``total``, ``next_offset``). Banks read the
    warnings of their own watchlists, never those that reveal a grade."""
    with _registry(services) as registry:
        if caller.role != "regulator":
            if watchlist is None:
                raise Invalid("banks read warnings through a watchlist: give watchlist=")
            _watchlist(registry, watchlist, caller)
            if type in GRADE_WARNINGS:
                raise Forbidden("warnings about grades are for regulators only")
        elif watchlist is not None:
            _watchlist(registry, watchlist, caller)
        filters: dict[str, Any] = {
            "state": state,
            "watchlist": watchlist,
            "type_": type,
            "enterprise_id": enterprise_id,
            "as_of": as_of,
            "hidden_types": () if caller.role == "regulator" else GRADE_WARNINGS,
        }
        found = list_warnings(registry, **filters, limit=limit, offset=offset)
        total = count_warnings(registry, **filters)
    return WarningsOut(
        items=[_warning_out(w, lang) for w in found], **Paged.of(total, offset, limit)
    )


@router.get("/warnings/{warning_id}", summary="A warning with the history of its state")
def warning(
    services: ServicesDep,
    caller: Regulator,
    warning_id: Annotated[int, Path(ge=1, le=2**62)],
    lang: AnswerLanguage,
) -> WarningDetailOut:
    with _registry(services) as registry:
        try:
            found, history = get_warning(registry, warning_id)
        except SupervisionError:
            raise NotFound(f"no warning {warning_id}") from None
    return WarningDetailOut(
        warning=_warning_out(found, lang),
        history=[
            StateChangeOut(
                at=h.at, actor=h.actor, from_state=h.from_state, to_state=h.to_state, note=h.note
            )
            for h in history
        ],
    )


@router.post("/warnings/{warning_id}/state", summary="Mark a warning seen or closed")
def warning_state(
    services: ServicesDep,
    caller: Regulator,
    warning_id: Annotated[int, Path(ge=1, le=2**62)],
    body: StateIn,
    lang: AnswerLanguage,
) -> WarningOut:
    """Record a state change by the calling client (new → seen → closed)."""
    with _registry(services, write=True) as registry:
        try:
            get_warning(registry, warning_id)
        except SupervisionError:
            raise NotFound(f"no warning {warning_id}") from None
        changed = set_state(registry, warning_id, body.state, caller.name, body.note)
        return _warning_out(changed, lang)


@router.get("/watchlists", summary="Watchlists: your own (regulators: all)")
def watchlists(
    services: ServicesDep, caller: Watcher, limit: Limit = 100, offset: TableOffset = 0
) -> WatchlistsOut:
    """The watchlists the caller may read, by name, paged."""
    with _registry(services) as registry:
        names = [
            name
            for name, owner, kind, _ in all_watchlists(registry)
            if caller.role == "regulator" or (owner == caller.name and kind == caller.role)
        ]
        return WatchlistsOut(
            items=[
                _watchlist_out(show_watchlist(registry, n)) for n in names[offset : offset + limit]
            ],
            **Paged.of(len(names), offset, limit),
        )


@router.post("/watchlists", status_code=201, summary="Create a watchlist")
def new_watchlist(services: ServicesDep, caller: Watcher, body: WatchlistIn) -> WatchlistOut:
    with _registry(services, write=True) as registry:
        return _watchlist_out(create_watchlist(registry, body.name, caller.name, caller.role))


@router.get("/watchlists/{name}", summary="A watchlist and its members")
def get_watchlist(services: ServicesDep, caller: Watcher, name: WatchlistName) -> WatchlistOut:
    with _registry(services) as registry:
        return _watchlist_out(_watchlist(registry, name, caller))


@router.post("/watchlists/{name}/members", summary="Add enterprises to your watchlist")
def add_to_watchlist(
    services: ServicesDep, caller: Watcher, name: WatchlistName, body: MembersIn
) -> MembersChangedOut:
    """Adds enterprises the store knows; unknown ids are refused, nothing added."""
    for enterprise_id in dict.fromkeys(body.enterprise_ids):
        enterprise_or_404(services, enterprise_id)
    with _registry(services, write=True) as registry:
        _watchlist(registry, name, caller, write=True)
        return MembersChangedOut(
            watchlist=name, changed=add_members(registry, name, body.enterprise_ids)
        )


@router.post("/watchlists/{name}/members/remove", summary="Remove enterprises from your watchlist")
def remove_from_watchlist(
    services: ServicesDep, caller: Watcher, name: WatchlistName, body: MembersIn
) -> MembersChangedOut:
    with _registry(services, write=True) as registry:
        _watchlist(registry, name, caller, write=True)
        return MembersChangedOut(
            watchlist=name, changed=remove_members(registry, name, body.enterprise_ids)
        )


document_roles(router)
