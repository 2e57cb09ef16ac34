"""Models of guarantee circles (担保圈): the list, one circle, an enterprise's circle."""

from __future__ import annotations

from datetime import date

from pydantic import Field

from api.schemas.common import Model, NodeOut, Paged


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
