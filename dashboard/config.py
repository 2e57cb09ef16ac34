"""Configuration of the board: what it shows and how much, separate from the installation's
settings (access.settings), which say where the data lives and whose keys log in."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from dashboard.i18n import Language


class BoardConfig(BaseModel):
    """How the board behaves; unknown fields are refused so that a typo is not ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    language: Language = Field(default="zh", description="Language shown first")
    as_of: date | None = Field(
        default=None, description="Date shown first; the latest saved snapshot when not given"
    )
    ego_limit: int = Field(
        default=20, ge=1, le=500, description="Neighbours shown per node before 'and N more'"
    )
    warnings_limit: int = Field(
        default=5_000, ge=10, le=100_000, description="Warnings read from the registry per date"
    )
    top_warnings: int = Field(default=10, ge=1, le=100, description="Warnings on the overview")
    extension_hops: int = Field(
        default=2, ge=1, le=3, description="Hops of the extension check computed at start-up"
    )
    grid_rows: int = Field(
        default=20_000, ge=100, le=1_000_000, description="Rows sent to a grid at most"
    )
    secure_cookie: bool = Field(
        default=False,
        description="Mark the login cookie Secure (sent over HTTPS only): for a board served "
        "to the network behind TLS (`creditgraph board --allow-remote` sets it)",
    )
    time_zone: str = Field(
        default="Asia/Shanghai",
        description="IANA time zone the board shows times in (when a plan was drawn…); "
        "stored times are UTC",
    )
    warm: bool = Field(
        default=True,
        description="Load the latest date and compute its circles and extension list before "
        "serving, so that every page's first render is fast",
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            message = f"unknown time zone {value!r} (an IANA name, e.g. Asia/Shanghai)"
            raise ValueError(message) from None
        return value
