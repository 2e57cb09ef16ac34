"""Own records: what the register and the enterprise's own records say (no graph)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from risk.features.context import (
    ADVERSE_FINDINGS,
    LISTING_KINDS,
    FeatureContext,
    count_by,
    days,
    flags,
    max_by,
    numbers,
)

RECENT_DAYS = 365
"""Court records count as recent when they started within this many days up to the as-of date
(the last 12 months)."""


def own_features(ctx: FeatureContext) -> dict[str, np.ndarray]:
    """Columns of the ``own`` family (see catalog.yaml)."""
    n = ctx.n_enterprises
    ent = ctx.snapshot.enterprises
    rec = ctx.records

    def count(mask: np.ndarray) -> np.ndarray:
        return count_by(rec.enterprise[mask], n)

    def days_since(mask: np.ndarray) -> np.ndarray:
        return ctx.as_of_days - max_by(rec.enterprise[mask], rec.start[mask], n)

    out = {
        "age_years": (ctx.as_of_days - days(ent["established_on"])) / 365.25,
        "registered_capital": ctx.capital,
        "individual_business": flags(pc.starts_with(ent["id"], "92")).astype(float),
        "suspended": flags(pc.equal(ent["status"], "suspended")).astype(float),
    }
    for kind in (*LISTING_KINDS, "penalty"):
        of_kind = rec.of(kind)
        out[f"{kind}_active"] = count(of_kind & rec.active)
        out[f"{kind}_expired"] = count(of_kind & ~rec.active)
        out[f"days_since_{kind}"] = days_since(of_kind)
    out["penalty_severe"] = count(
        rec.of("penalty") & flags(pc.equal(rec.table["severity"], "severe"))
    )
    commitment = rec.of("commitment")
    out["commitments_signed"] = count(commitment)
    out["commitments_broken"] = count(commitment & flags(pc.equal(rec.table["kept"], False)))
    inspection = rec.of("inspection")
    finding = flags(pc.is_in(rec.table["finding"], value_set=pa.array(ADVERSE_FINDINGS)))
    out["inspections"] = count(inspection)
    out["inspection_findings"] = count(inspection & finding)
    out["days_since_inspection"] = days_since(inspection)
    out.update(_court_and_status(ctx, count))
    registered = np.where(ctx.capital > 0, ctx.capital, np.nan)
    out["paid_in_ratio"] = numbers(ent["paid_in_capital"]) / registered
    return out


def _court_and_status(
    ctx: FeatureContext, count: Callable[[np.ndarray], np.ndarray]
) -> dict[str, np.ndarray]:
    """Lawsuits, enforcements and status events of the enterprise itself.

    An amount summed over records is unknown (NaN) when one of them has no amount: an
    unknown amount is not 0.
    """
    n = ctx.n_enterprises
    rec = ctx.records
    table = rec.table
    amount = numbers(table["amount"])

    def total(mask: np.ndarray) -> np.ndarray:
        known = count_by(rec.enterprise[mask], n, np.nan_to_num(amount[mask]))
        missing = count(mask & np.isnan(amount))
        return np.where(missing > 0, np.nan, known)

    recent = rec.start > ctx.as_of_days - RECENT_DAYS
    suit = rec.of("lawsuit") & recent
    role = table["role"]
    defendant = suit & flags(pc.equal(role, "defendant"))
    enforced = rec.of("enforcement") & rec.active
    event = rec.of("status_event") & rec.active
    return {
        "lawsuits_defendant_12m": count(defendant),
        "lawsuit_amount_defendant_12m": total(defendant),
        "lawsuits_plaintiff_12m": count(suit & flags(pc.equal(role, "plaintiff"))),
        "enforcement_active": count(enforced),
        "enforcement_amount_active": total(enforced),
        "bankruptcy": (count(event & flags(pc.equal(table["event"], "bankruptcy"))) > 0).astype(
            float
        ),
        "licence_revoked": (
            count(event & flags(pc.equal(table["event"], "revocation"))) > 0
        ).astype(float),
    }
