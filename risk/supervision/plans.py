"""Sampling plans: draw, record, replay, publish, and take inspection results back.

A plan record holds everything needed to re-derive it: the parameters (``PlanSpec``),
the seed, the pool's fingerprint and class sizes, the inspector pool's fingerprint, and
the result (objects, inspectors, recusals with their reasons). Replaying rebuilds the
pool from the same graph and grading, refuses if the pool or the inspectors changed
(naming what changed), and draws again with the recorded seed: the result must be
identical. Records are JSON files in the data home's ``plans`` folder.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import tempfile
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from pydantic import BaseModel, ConfigDict

from graph_model.csv_cells import safe_cell
from graph_model.domain import load_domain
from graph_model.errors import CreditGraphError
from graph_model.snapshot import Snapshot
from risk.supervision.extension import extension_checks
from risk.supervision.inspectors import Inspector, assign, conflicts, inspectors_fingerprint
from risk.supervision.sampling import PlanSpec, build_pool, draw

FORMAT_VERSION = 1


class PlanError(CreditGraphError, ValueError):
    """A plan cannot be replayed, exported or updated as asked; the message says why."""

    http_status = 409
    code = "plan_conflict"


class PlanRecord(BaseModel):
    """A drawn plan, as recorded (internal: it holds grades; see :func:`publication`).

    The API answers it as it is (``api.schemas.supervision.PlanOut`` extends it), so the
    record's fields are written once, here.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    plan_id: str
    created_at: str
    spec: dict[str, Any]
    seed: int
    pool_fingerprint: str
    pool_classes: dict[str, dict[str, int]]
    inspectors_fingerprint: str
    objects: list[dict[str, Any]]
    recusals: list[dict[str, Any]]
    unassigned: list[str]

    def save(self, folder: Path) -> tuple[PlanRecord, Path, bool]:
        """Record the plan in ``folder``: once, never replaced (一公开: a recorded plan is part
        of the public record). Returns the recorded plan, its file and whether it is new.

        The id names the draw (date, a digest of the spec, seed, pool and inspectors, and
        the seed), so the same id means the same draw: when it is recorded already, that
        record is returned unchanged (``False``). The file is created with ``O_EXCL``
        semantics (a hard link of a complete temporary file), so two concurrent draws can
        never both write it, and a reader never sees half a plan; it is made read-only.
        """
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{self.plan_id}.json"
        body = {"format": FORMAT_VERSION, **self.model_dump()}
        with tempfile.NamedTemporaryFile(
            "w", encoding="utf-8", dir=folder, prefix=".draft-", suffix=".json", delete=False
        ) as fh:
            fh.write(json.dumps(body, ensure_ascii=False, indent=1))
        draft = Path(fh.name)
        try:
            draft.chmod(0o444)
            os.link(draft, path)
        except FileExistsError:
            recorded = PlanRecord.load(folder, self.plan_id)
            if recorded.draw_key() != self.draw_key():
                raise PlanError(
                    f"plan id {self.plan_id} is recorded for another draw; nothing written"
                ) from None
            return recorded, path, False
        finally:
            draft.unlink()
        return self, path, True

    def draw_key(self) -> tuple[str, ...]:
        """What decides the draw: spec (seed included), pool and inspectors."""
        spec = json.dumps(self.spec, sort_keys=True, ensure_ascii=False)
        return (spec, str(self.seed), self.pool_fingerprint, self.inspectors_fingerprint)

    @classmethod
    def load(cls, folder: Path, plan_id: str) -> PlanRecord:
        path = folder / f"{plan_id}.json"
        if not path.is_file():
            known = sorted(p.stem for p in folder.glob("*.json")) if folder.is_dir() else []
            hint = f"; known plans: {', '.join(known[-5:])}" if known else ""
            raise PlanError(f"no plan {plan_id!r} in {folder}{hint}")
        body = json.loads(path.read_text(encoding="utf-8"))
        if body.pop("format") != FORMAT_VERSION:
            raise PlanError(f"{path}: plan format not supported by this version")
        return cls(**body)

    def result(self) -> list[tuple[str, tuple[str, ...]]]:
        """(enterprise, inspectors) pairs in draw order: what a replay must reproduce."""
        return [(o["id"], tuple(o["inspectors"])) for o in self.objects]


def draw_plan(
    snapshot: Snapshot,
    grading: pa.Table,
    inspectors: list[Inspector],
    spec: PlanSpec,
    now: datetime | None = None,
) -> PlanRecord:
    """Draw a plan: pool, forced objects, class draws, recusal on the graph, assignment."""
    if snapshot.as_of != spec.as_of:
        raise PlanError(f"the snapshot is of {snapshot.as_of}, the plan of {spec.as_of}")
    repeated = [k for k, n in Counter(i.id for i in inspectors).items() if n > 1]
    if repeated:
        raise PlanError(f"repeated inspector id(s) {', '.join(repeated[:5])}")
    seed = spec.seed if spec.seed is not None else secrets.randbelow(2**63)
    spec = spec.model_copy(update={"seed": seed})
    extension = _extension_reasons(snapshot, grading, spec)
    pool = build_pool(snapshot, grading, spec, extension)
    draw_rng, assign_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    drawn = draw(pool, spec, draw_rng)
    chosen = pool.index[drawn.positions]
    conflicted = conflicts(snapshot, inspectors, spec.recusal_hops, spec.recuse_same_region, chosen)
    assignment = assign(
        drawn.positions, pool.index, inspectors, conflicted, spec.inspectors_per_object, assign_rng
    )
    objects = []
    for position, is_random in zip(drawn.positions.tolist(), drawn.random.tolist(), strict=True):
        objects.append(
            {
                "id": str(pool.ids[position]),
                "name": str(pool.names[position]),
                "grade": str(pool.grade[position]),
                "score": float(pool.score[position]),
                "selected": "random" if is_random else "forced",
                "reason": "" if is_random else str(pool.forced[position]),
                "inspectors": [inspectors[k].id for k in assignment.inspectors.get(position, [])],
            }
        )
    recusals = [
        conflict.as_dict()
        for position in drawn.positions.tolist()
        for _, conflict in conflicted.get(int(pool.index[position]), [])
    ]
    created = (now or datetime.now(UTC)).isoformat(timespec="seconds")
    spec_json = spec.model_dump(mode="json")
    fingerprint = pool.fingerprint()
    people = inspectors_fingerprint(inspectors)
    digest = hashlib.sha256(
        json.dumps([spec_json, fingerprint, people], sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()
    return PlanRecord(
        plan_id=f"{spec.as_of.isoformat()}-{digest[:12]}-{seed % 10**8:08d}",
        created_at=created,
        spec=spec_json,
        seed=seed,
        pool_fingerprint=fingerprint,
        pool_classes=pool.class_sizes(),
        inspectors_fingerprint=people,
        objects=objects,
        recusals=recusals,
        unassigned=[str(pool.ids[p]) for p in assignment.unassigned],
    )


def _extension_reasons(snapshot: Snapshot, grading: pa.Table, spec: PlanSpec) -> dict[str, str]:
    if spec.extension_hops is None:
        return {}
    table = extension_checks(snapshot, grading, spec.extension_hops)
    reasons: dict[str, str] = {}
    for black, related, hops in zip(
        table["black_listed_id"].to_pylist(),
        table["related_id"].to_pylist(),
        table["hops"].to_pylist(),
        strict=True,
    ):
        reasons.setdefault(related, f"延伸检查: tied to black-listed {black} ({hops} hops)")
    return reasons


def replay(
    record: PlanRecord, snapshot: Snapshot, grading: pa.Table, inspectors: list[Inspector]
) -> PlanRecord:
    """Draw the recorded plan again; raise :class:`PlanError` if the pool or the inspectors
    changed, or if the draw differs (which would be a bug)."""
    spec = PlanSpec.model_validate(record.spec)
    pool = build_pool(snapshot, grading, spec, _extension_reasons(snapshot, grading, spec))
    if pool.fingerprint() != record.pool_fingerprint:
        raise PlanError(
            f"the pool of plan {record.plan_id} changed since it was drawn: "
            f"classes then {record.pool_classes}, now {pool.class_sizes()}. "
            "Replay needs the same graph (snapshot of the as-of date) and the same grading."
        )
    if inspectors_fingerprint(inspectors) != record.inspectors_fingerprint:
        raise PlanError(
            f"the inspector pool differs from the one plan {record.plan_id} was drawn with"
        )
    again = draw_plan(snapshot, grading, inspectors, spec)
    if again.result() != record.result():
        raise PlanError(f"replaying plan {record.plan_id} gave another result")
    return again


def publication(record: PlanRecord, fmt: str) -> str:
    """The plan as published (一公开): objects and inspectors, never grades, scores or the
    reasons objects were forced in (complaints and leads are not public)."""
    rows = [
        {
            "plan_id": record.plan_id,
            "item": record.spec["item"],
            "enterprise_id": o["id"],
            "enterprise_name": o["name"],
            "inspectors": ";".join(o["inspectors"]),
        }
        for o in record.objects
    ]
    if fmt == "json":
        return json.dumps(
            {"plan_id": record.plan_id, "item": record.spec["item"], "objects": rows},
            ensure_ascii=False,
            indent=1,
        )
    if fmt != "csv":
        raise PlanError(f"export format must be csv or json, not {fmt!r}")
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["plan_id"])
    writer.writeheader()
    writer.writerows({k: safe_cell(v) for k, v in row.items()} for row in rows)
    return out.getvalue()


def results_to_inspections(record: PlanRecord, results: pa.Table, authority: str) -> pa.Table:
    """Inspection results of a plan as rows of the ``inspections`` contract file.

    ``results`` has ``enterprise_id``, ``finding`` and ``inspected_on`` (yyyy-mm-dd). Every
    row must be an object of the plan, with a known finding: otherwise nothing is returned
    and :class:`PlanError` lists every bad row (line numbers count the header as line 1).
    """
    missing = {"enterprise_id", "finding", "inspected_on"} - set(results.column_names)
    if missing:
        raise PlanError(f"results file: missing column(s) {', '.join(sorted(missing))}")
    in_plan = {o["id"] for o in record.objects}
    findings = load_domain().record("inspection").field("finding").values
    problems = []
    rows = results.select(["enterprise_id", "finding", "inspected_on"]).to_pylist()
    for line, row in enumerate(rows, start=2):
        firm, finding, day = (str(row[c] or "").strip() for c in row)
        if firm not in in_plan:
            problems.append(f"line {line}, enterprise_id = {firm!r}: not an object of the plan")
        if finding not in findings:
            problems.append(f"line {line}, finding = {finding!r}: one of {', '.join(findings)}")
        try:
            date.fromisoformat(day)
        except ValueError:
            problems.append(f"line {line}, inspected_on = {day!r}: not a date (yyyy-mm-dd)")
    if problems:
        raise PlanError(f"{len(problems)} bad row(s) in the results:\n  " + "\n  ".join(problems))
    firms = results["enterprise_id"].cast(pa.string())
    return pa.table(
        {
            "record_no": pc.binary_join_element_wise(record.plan_id, firms, "/"),
            "enterprise_id": firms,
            "start": results["inspected_on"].cast(pa.string()),
            "item": pa.array([record.spec["item"]] * results.num_rows, pa.string()),
            "finding": results["finding"].cast(pa.string()),
            "authority": pa.array([authority] * results.num_rows, pa.string()),
        }
    )
