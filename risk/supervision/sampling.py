"""双随机 object draws: the pool, the per-class ratios, exclusions, forced inclusions, the draw.

The pool is every enterprise in operation on the as-of date (the population the model
grades: not ended, not a foreign shareholder) that passes the region and industry filters,
with its grade and score. Each class draws
``ceil(ratio × class size)`` objects from its eligible members, weighted by risk
within the class (weight ``1 + risk_weight × score percentile``, so every eligible
object keeps a chance), without replacement (Efraimidis–Spirakis keys). Forced
inclusions come on top of the draw and are never exempted by class or by the
"recently inspected" rule.
"""

from __future__ import annotations

import functools
import hashlib
import math
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from graph_model.errors import CreditGraphError
from graph_model.snapshot import Snapshot
from risk.features.context import ADVERSE_FINDINGS
from risk.model.artefact import MODEL_VERSION_PATTERN
from risk.model.dataset import in_operation
from risk.model.dates import shift_months


class SamplingError(CreditGraphError, ValueError):
    """A plan cannot be drawn as asked; the message says why and what to change."""

    code = "invalid_plan"


@functools.cache
def presets() -> dict[str, Any]:
    """The local sampling rules of presets.yaml (read once)."""
    text = resources.files("risk.supervision").joinpath("presets.yaml").read_text("utf-8")
    return dict(yaml.safe_load(text))


class Forced(BaseModel):
    """An object that must be inspected whatever its class (complaint, lead, referral)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, description="Enterprise id (USCC or external id)")
    reason: str = Field(min_length=1, description="Why: complaint, lead, referral, …")


class PlanSpec(BaseModel):
    """Everything that decides a draw, recorded with the plan so that it can be replayed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    item: str = Field(min_length=1, description="Inspection item (抽查事项)")
    as_of: date = Field(description="Date of the grades and of the graph the pool comes from")
    grading: str = Field(
        pattern=MODEL_VERSION_PATTERN, description="Which grading: the model version"
    )
    regions: tuple[str, ...] = Field(default=(), description="Region code prefixes; all if empty")
    industries: tuple[str, ...] = Field(default=(), description="Industry sections; all if empty")
    preset: str = Field(default="henan_2021", description="Local rule in presets.yaml")
    ratios: dict[str, float] = Field(default_factory=dict, description="Per-class overrides")
    risk_weight: float = Field(default=1.0, ge=0, le=10, description="0: uniform within a class")
    recent_months: int = Field(default=12, ge=0, le=120, description="无事不扰 window")
    recent_classes: tuple[str, ...] = Field(
        default=("A",), description="Classes exempted when inspected within recent_months"
    )
    findings_months: int = Field(
        default=12, ge=0, le=120, description="Firms with findings this recent are forced in"
    )
    forced: tuple[Forced, ...] = Field(default=(), description="Complaints, leads, referrals")
    extension_hops: int | None = Field(
        default=None, ge=1, le=4, description="Force in the related firms of black-listed ones"
    )
    inspectors_per_object: int = Field(default=2, ge=2, le=10)
    recusal_hops: int = Field(default=2, ge=1, le=4)
    recuse_same_region: bool = Field(default=False, description="Recuse inspectors of the region")
    seed: int | None = Field(default=None, ge=0, description="Chosen at random when not given")

    @model_validator(mode="after")
    def _known_preset_and_ratios(self) -> PlanSpec:
        if self.preset not in presets()["presets"]:
            known = ", ".join(presets()["presets"])
            raise ValueError(f"unknown preset {self.preset!r}; known presets: {known}")
        for grade, ratio in self.ratios.items():
            if not 0 <= ratio <= 1:
                raise ValueError(f"ratio of class {grade} must be within 0..1, got {ratio}")
        return self

    def class_ratios(self) -> dict[str, float]:
        """The preset's ratios with the overrides applied."""
        return {**presets()["presets"][self.preset]["ratios"], **self.ratios}


@dataclass(frozen=True)
class Pool:
    """The objects a plan may draw from, sorted by id, with why each is in or out."""

    ids: np.ndarray
    names: np.ndarray
    index: np.ndarray
    grade: np.ndarray
    score: np.ndarray
    eligible: np.ndarray
    forced: np.ndarray

    def fingerprint(self) -> str:
        """SHA-256 over every object's id, grade, score, eligibility and forced reason."""
        digest = hashlib.sha256()
        score = np.char.mod("%.12g", self.score.astype(float))
        rows = np.char.add(
            np.char.add(np.char.add(self.ids.astype(str), "\t"), self.grade.astype(str)),
            np.char.add("\t", score),
        )
        digest.update("\n".join(rows.tolist()).encode())
        digest.update(np.packbits(self.eligible).tobytes())
        digest.update("\n".join(self.forced.tolist()).encode())
        return digest.hexdigest()

    def class_sizes(self) -> dict[str, dict[str, int]]:
        """Per class: objects in the pool, eligible for the random draw, and forced."""
        out = {}
        for grade in sorted(set(self.grade.tolist())):
            members = self.grade == grade
            out[grade] = {
                "pool": int(members.sum()),
                "eligible": int((members & self.eligible).sum()),
                "forced": int((members & (self.forced != "")).sum()),
            }
        return out


def build_pool(
    snapshot: Snapshot,
    grading: pa.Table,
    spec: PlanSpec,
    extension_reasons: dict[str, str] | None = None,
) -> Pool:
    """The pool of ``spec`` on ``snapshot`` with the grades of ``grading`` (id, grade, score).

    ``extension_reasons`` maps enterprise ids to the extension-check reason that forces them
    in (computed by the caller from the black list, see extension.py).
    """
    ent = snapshot.enterprises
    # The pool is the population the model grades: firms in operation, foreign ones excluded.
    keep = pa.array(in_operation(ent, snapshot.as_of))
    if spec.regions:
        in_region = pc.starts_with(ent["region_code"], spec.regions[0])
        for prefix in spec.regions[1:]:
            in_region = pc.or_(in_region, pc.starts_with(ent["region_code"], prefix))
        keep = pc.and_(keep, pc.fill_null(in_region, False))
    if spec.industries:
        keep = pc.and_(keep, pc.is_in(ent["industry"], value_set=pa.array(spec.industries)))
    mask = pc.fill_null(keep, False).to_numpy(zero_copy_only=False)
    index = np.flatnonzero(mask)
    ids = ent["id"].to_numpy(zero_copy_only=False)[index]
    order = np.argsort(ids, kind="stable")
    index, ids = index[order], ids[order]
    names = ent["name"].to_numpy(zero_copy_only=False)[index]

    graded = pc.index_in(pa.array(ids, pa.string()), value_set=grading["id"])
    missing = np.asarray(pc.is_null(graded).to_numpy(zero_copy_only=False))
    if missing.any():
        example = ", ".join(ids[missing][:3].tolist())
        raise SamplingError(
            f"{int(missing.sum()):,} enterprises of the pool have no grade in grading "
            f"{spec.grading!r} (e.g. {example}); score them first (creditgraph score)"
        )
    rows = graded.to_numpy(zero_copy_only=False).astype(np.int64)
    grade = grading["grade"].to_numpy(zero_copy_only=False)[rows].astype(str)
    score = grading["score"].to_numpy(zero_copy_only=False)[rows].astype(float)
    unknown = sorted(set(grade.tolist()) - set(spec.class_ratios()))
    if unknown:
        raise SamplingError(
            f"classes {unknown} have no sampling ratio in preset {spec.preset!r}; "
            "give one with --ratio CLASS=RATIO"
        )

    rec = snapshot.records
    enterprise = rec["enterprise"].to_numpy()
    start = rec["start"]
    inspection = pc.equal(rec["kind"], "inspection")
    recent_day = pa.scalar(shift_months(snapshot.as_of, -spec.recent_months), pa.date32())
    recent = pc.and_(inspection, pc.greater_equal(start, recent_day))
    finding_day = pa.scalar(shift_months(snapshot.as_of, -spec.findings_months), pa.date32())
    found = pc.and_(
        pc.and_(inspection, pc.greater_equal(start, finding_day)),
        pc.is_in(rec["finding"], value_set=pa.array(ADVERSE_FINDINGS)),
    )
    inspected = np.zeros(snapshot.n_enterprises, dtype=bool)
    inspected[enterprise[pc.fill_null(recent, False).to_numpy(zero_copy_only=False)]] = True
    findings = np.zeros(snapshot.n_enterprises, dtype=bool)
    findings[enterprise[pc.fill_null(found, False).to_numpy(zero_copy_only=False)]] = True

    eligible = ~(inspected[index] & np.isin(grade, spec.recent_classes))
    forced = np.full(len(ids), "", dtype=object)
    forced[findings[index]] = f"finding of an inspection within {spec.findings_months} months"
    position = {str(i): p for p, i in enumerate(ids.tolist())}
    for reason_of in (extension_reasons or {}, {f.id: f.reason for f in spec.forced}):
        for firm, reason in reason_of.items():
            if firm in position:
                forced[position[firm]] = reason
    outside = [f.id for f in spec.forced if f.id not in position]
    if outside:
        raise SamplingError(
            f"forced object(s) {', '.join(outside[:5])} are not in the pool "
            "(unknown id, not in business on the as-of date, or outside the filters)"
        )
    return Pool(ids, names, index, grade, score, eligible, forced.astype(str))


@dataclass(frozen=True)
class Drawn:
    """Positions in the pool of the drawn objects, in draw order, with how each was chosen."""

    positions: np.ndarray
    random: np.ndarray


def draw(pool: Pool, spec: PlanSpec, rng: np.random.Generator) -> Drawn:
    """Forced objects first, then each class's weighted random draw (classes in order)."""
    ratios = spec.class_ratios()
    forced = np.flatnonzero(pool.forced != "")
    chosen = [forced]
    for grade in sorted(set(pool.grade.tolist())):
        members = np.flatnonzero(pool.grade == grade)
        want = math.ceil(ratios[grade] * len(members) - 1e-9)
        candidates = members[pool.eligible[members] & (pool.forced[members] == "")]
        # Keys are drawn for every member in id order, so a draw does not depend on
        # which members happen to be ineligible this time.
        keys_all = rng.random(len(members))
        take = min(want, len(candidates))
        if take == 0:
            continue
        scores = pool.score[candidates]
        rank = _percentile(scores)
        weight = 1.0 + spec.risk_weight * rank
        keys = np.log(keys_all[np.searchsorted(members, candidates)]) / weight
        chosen.append(candidates[np.argsort(-keys, kind="stable")[:take]])
    positions = np.concatenate(chosen)
    is_random = np.ones(len(positions), dtype=bool)
    is_random[: len(forced)] = False
    return Drawn(positions, is_random)


def _percentile(values: np.ndarray) -> np.ndarray:
    """Rank of each value in (0, 1]; ties share the highest rank; NaN ranks lowest."""
    filled = np.where(np.isnan(values), -np.inf, values)
    ranks = np.searchsorted(np.sort(filled), filled, side="right")
    return ranks / max(len(values), 1)
