"""Models of liveness and readiness."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import Field

from api.schemas.common import Model


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
