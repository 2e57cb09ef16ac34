"""The data home, read in one place: which snapshots and scores it holds, and what they say.

The folders are the settings' (``Settings.snapshots_dir``, ``scores_dir``, ``models_dir``);
:class:`DataHome` knows what lives in them: a snapshot folder counts once its manifest is
written, a date is scored once it holds a scores file, the scores of a date are the current
model's when it scored it, and a scores file's metadata is read as :class:`ScoresMeta`. The
command line, the API, the board and the model jobs all read the data home through it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from graph_model.errors import CreditGraphError
from graph_model.settings import Settings
from graph_model.snapshot import PERSONS, Snapshot
from risk.model.artefact import MODEL_VERSION_PATTERN, current_version
from risk.model.reasons import parse_reasons
from risk.model.scores import GradeRecord, ReasonSettings


class NoSnapshotError(CreditGraphError):
    """The data home holds no saved snapshot of the date asked for (or none at all)."""

    http_status = 503
    code = "no_snapshot"


@dataclass(frozen=True)
class ScoresMeta:
    """What a scores file's metadata says (written by ``risk.model.scores.score_snapshot``)."""

    as_of: date
    model_version: str
    population: int
    counts: dict[str, int]
    classes: tuple[str, ...]
    reason_settings: ReasonSettings
    raw: dict[str, Any]

    @classmethod
    def of(cls, schema: pa.Schema) -> ScoresMeta:
        """The metadata of a scores table or file schema."""
        raw = json.loads(schema.metadata[b"creditgraph"])
        reasons = raw["reasons"]
        return cls(
            as_of=date.fromisoformat(raw["as_of"]),
            model_version=str(raw["model_version"]),
            population=int(raw["population"]),
            counts={str(k): int(v) for k, v in raw["counts"].items()},
            classes=tuple(raw["grades"]["classes"]),
            reason_settings=ReasonSettings(
                reasons["top_k"], reasons["share"], reasons["evidence_items"]
            ),
            raw=raw,
        )

    @classmethod
    def read(cls, path: Path) -> ScoresMeta:
        """The metadata of a scores file, without reading its rows."""
        return cls.of(pq.read_schema(path))


@dataclass(frozen=True)
class DataHome:
    """The snapshots and scores of the data home the settings name."""

    settings: Settings

    # -- snapshots ------------------------------------------------------------------------
    def snapshot_folder(self, day: date) -> Path:
        return self.settings.snapshots_dir / day.isoformat()

    def snapshot_dates(self, up_to: date | None = None) -> tuple[date, ...]:
        """Dates with a saved snapshot (up to ``up_to`` if given), oldest first."""
        return tuple(
            day
            for day in _dated_folders(self.settings.snapshots_dir)
            if self.has_snapshot(day) and (up_to is None or day <= up_to)
        )

    def has_snapshot(self, day: date, *, readable: bool = False) -> bool:
        """Whether the snapshot of ``day`` is saved (``readable``: in this version's format)."""
        return Snapshot.saved_in(self.snapshot_folder(day), readable=readable)

    def snapshot(self, day: date) -> Snapshot:
        """The saved snapshot of ``day``."""
        if not self.has_snapshot(day):
            raise NoSnapshotError(
                f"no snapshot of {day} is saved: run `creditgraph snapshot --as-of {day}`"
            )
        return Snapshot.load(self.snapshot_folder(day))

    def latest_snapshot(self, up_to: date) -> Snapshot:
        """The saved snapshot of the latest date up to ``up_to``: one dated later is a mistake
        (a future --as-of) and is never served."""
        return Snapshot.load(self.latest_snapshot_folder(up_to))

    def latest_snapshot_folder(self, up_to: date) -> Path:
        """The folder of the snapshot :meth:`latest_snapshot` reads."""
        days = self.snapshot_dates(up_to)
        if not days:
            raise NoSnapshotError(
                "no snapshot has been taken: run `creditgraph snapshot --as-of …`"
            )
        return self.snapshot_folder(days[-1])

    def person_names(self, days: Iterable[date]) -> dict[str, str]:
        """Person key → name, from the saved snapshots of ``days`` (those that are saved),
        reading only their person tables."""
        names: dict[str, str] = {}
        for day in sorted(set(days)):
            if self.has_snapshot(day):
                persons = pq.read_table(self.snapshot_folder(day) / PERSONS, columns=["id", "name"])
                names.update(
                    (key, name)
                    for key, name in zip(
                        persons["id"].to_pylist(), persons["name"].to_pylist(), strict=True
                    )
                    if name
                )
        return names

    def save_snapshot(self, snapshot: Snapshot) -> Path:
        """Save ``snapshot`` as the data home's snapshot of its date."""
        return snapshot.save(self.snapshot_folder(snapshot.as_of))

    # -- scores ---------------------------------------------------------------------------
    def scored_dates(self) -> tuple[date, ...]:
        """Dates with stored scores, oldest first."""
        folder = self.settings.scores_dir
        return tuple(day for day in _dated_folders(folder) if any(self._scores_of(day)))

    def _scores_of(self, day: date) -> list[Path]:
        return list((self.settings.scores_dir / day.isoformat()).glob("*.parquet"))

    def scores_path(self, day: date, model_version: str) -> Path:
        """Where the scores of ``day`` by ``model_version`` are (or go)."""
        if not re.fullmatch(MODEL_VERSION_PATTERN, model_version):
            raise ValueError(f"{model_version!r} is not a model version")
        return self.settings.scores_dir / day.isoformat() / f"{model_version}.parquet"

    def scores_file(
        self, day: date, model_version: str | None = None, preferred: str | None = None
    ) -> Path | None:
        """The scores of ``day``: of ``model_version`` if given, else of ``preferred`` (by
        default the current model) if it scored that date, else the latest written; None when
        the date was not scored."""
        if model_version is not None:
            path = self.scores_path(day, model_version)
            return path if path.exists() else None
        preferred = preferred or current_version(self.settings.models_dir)
        if preferred is not None and self.scores_path(day, preferred).exists():
            return self.scores_path(day, preferred)
        files = sorted(self._scores_of(day), key=lambda p: (p.stat().st_mtime, p.name))
        return files[-1] if files else None

    def save_scores(self, table: pa.Table) -> Path:
        """Write a table made by ``score_snapshot`` to its place."""
        meta = ScoresMeta.of(table.schema)
        path = self.scores_path(meta.as_of, meta.model_version)
        path.parent.mkdir(parents=True, exist_ok=True)
        pq.write_table(table, path)
        return path

    def read_grade(
        self,
        enterprise_id: str,
        day: date,
        model_version: str | None = None,
        preferred: str | None = None,
    ) -> GradeRecord | None:
        """The grade, score and stored reasons of an enterprise on a date, from the file
        :meth:`scores_file` names (None when the date was not scored or the enterprise was
        not in its population)."""
        path = self.scores_file(day, model_version, preferred)
        return _grade(path, enterprise_id) if path is not None else None

    def grade_history(self, enterprise_id: str) -> list[GradeRecord]:
        """Every stored grade of an enterprise, oldest date first (all model versions)."""
        found = (_grade(p, enterprise_id) for p in self.settings.scores_dir.glob("*/*.parquet"))
        return sorted((g for g in found if g is not None), key=lambda g: (g.as_of, g.model_version))


def _dated_folders(folder: Path) -> list[date]:
    """The dates named by ``folder``'s subfolders (yyyy-mm-dd), sorted; others ignored."""
    if not folder.is_dir():
        return []
    days = []
    for child in folder.iterdir():
        if child.is_dir():
            try:
                days.append(date.fromisoformat(child.name))
            except ValueError:
                continue
    return sorted(days)


def _grade(path: Path, enterprise_id: str) -> GradeRecord | None:
    table = pq.read_table(path, filters=[("id", "=", enterprise_id)])
    if table.num_rows == 0:
        return None
    row = table.to_pylist()[0]
    meta = ScoresMeta.read(path)
    return GradeRecord(
        enterprise_id=row["id"],
        as_of=row["as_of"],
        model_version=row["model_version"],
        score=row["score"],
        rank=row["rank"],
        population=meta.population,
        grade=row["grade"],
        reasons=parse_reasons(row["reasons"]) if row["reasons"] is not None else None,
        reason_settings=meta.reason_settings,
    )
