"""Own records: what the register and the enterprise's own records say (no graph)."""

from __future__ import annotations

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
)


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
    return out
