"""Models of sampling plans (draw, list, replay) and extension checks."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import Path
from pydantic import Field

from api.schemas.common import Model, NodeOut, Paged
from risk.supervision.plans import PlanRecord

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
