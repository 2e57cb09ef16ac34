"""The board's data manager: everything the pages show, read from the data home and cached.

One :class:`BoardData` is made by the app factory and handed to every callback; there is no
module-level state. It reads files only: saved snapshots (the graph as of a date), the
model's stored scores, plan records, inspector files and the supervision registry. It keeps
no graph store open: the embedded store takes one writer process, and a board holding it
would block the next load; snapshots are also what the grades were computed on, so the board
shows the graph as it stood on the grades' date. The one exception is an enterprise's change
history, whose ended relations are in no snapshot: the store is opened read-only for that
read alone, and a load running meanwhile makes the page say the history is unavailable.

Heavy results (a snapshot read, its reverse adjacency, every guarantee circle, the extension
list of the whole black list) are computed once per date and kept. Cached values are
immutable (Arrow tables, read-only NumPy arrays, frozen dataclasses, tuples), so a caller
gets the equivalent of a copy without paying for one at a million rows. Dates are evicted
least recently used first, beyond ``max_dates``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from dashboard.config import BoardConfig
from dashboard.graph import GraphIndex, foreign_amounts
from graph_model.rates import RateTable, read_rates
from graph_model.settings import Settings
from graph_model.snapshot import Snapshot
from graph_model.store.open import open_store
from risk.data_home import DataHome, ScoresMeta
from risk.features.context import FeatureContext
from risk.features.guarantees import Circle, GuaranteeGraph, guarantee_circles, guarantee_graph
from risk.history import Change, enterprise_history
from risk.matching import NameMatcher
from risk.model.reasons import Reason, parse_reasons
from risk.snapshot_index import SnapshotIndex
from risk.supervision.extension import black_listed, extension_checks
from risk.supervision.inspectors import Inspector, read_inspectors
from risk.supervision.plans import PlanRecord
from risk.supervision.registry import open_registry
from risk.supervision.warning_registry import list_warnings

T = TypeVar("T")

RECORD_KINDS = (
    "black_list",
    "abnormal_list",
    "dishonest_debtor",
    "penalty",
    "commitment",
    "inspection",
)


def _frozen(array: np.ndarray) -> np.ndarray:
    array.flags.writeable = False
    return array


@dataclass(frozen=True)
class Grades:
    """Stored grades of one date, aligned with the snapshot's enterprise rows."""

    model_version: str
    classes: tuple[str, ...]
    grade: np.ndarray
    """Grade per enterprise row; "" when the enterprise was not scored."""
    score: np.ndarray
    """Score per enterprise row; NaN when not scored."""
    table: pa.Table
    """``id``, ``grade``, ``score`` as stored: the grading a plan is drawn with."""
    population: int


@dataclass(frozen=True)
class Stored:
    """A date's stored scores as the scorer wrote them (risk/model/scores.py), reasons aside."""

    as_of: date
    table: pa.Table
    """``id``, ``grade``, ``score``, ``rank``."""
    meta: ScoresMeta


@dataclass(frozen=True)
class Graded:
    """An enterprise's stored grade on one date."""

    as_of: date
    model_version: str
    grade: str
    score: float
    rank: int
    population: int
    reasons: list[Reason] | None


@dataclass(frozen=True)
class Circles:
    """Every guarantee circle of a date, largest exposure first, and the graph they are in."""

    circles: tuple[Circle, ...]
    graph: GuaranteeGraph
    capital: np.ndarray
    rank_of: np.ndarray
    """Position in ``circles`` of each enterprise's circle, -1 outside every circle."""


@dataclass(frozen=True)
class MonthMix:
    """Grade counts of one scored date (read from the scores file's metadata)."""

    as_of: date
    counts: dict[str, int]


class BoardData:
    """Reads and caches what the board shows; one per app, shared by its callbacks."""

    def __init__(self, settings: Settings, config: BoardConfig, max_dates: int = 2) -> None:
        self.settings = settings
        self.home = DataHome(settings)
        self.config = config
        self._max_dates = max_dates
        self._values: dict[tuple[Any, ...], Any] = {}
        self._locks: dict[tuple[Any, ...], threading.Lock] = {}
        self._recent: list[date] = []
        self._dated: dict[date, set[tuple[Any, ...]]] = {}
        self._guard = threading.Lock()

    # -- cache ---------------------------------------------------------------
    def _cached(self, key: tuple[Any, ...], build: Callable[[], T], day: date | None = None) -> T:
        """The value of ``key``, built once even when two requests ask at the same time.

        Values of a ``day`` are forgotten with that day (see :meth:`_touch`); the others
        (stored grades, small and needed for every date's history) are kept.
        """
        with self._guard:
            if day is not None:
                self._touch(day)
                self._dated.setdefault(day, set()).add(key)
            if key in self._values:
                return self._values[key]
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            with self._guard:
                if key in self._values:
                    return self._values[key]
            value = build()
            with self._guard:
                self._values[key] = value
            return value

    def _touch(self, day: date) -> None:
        """Mark ``day`` as used; forget the values of the least recently used dates."""
        if day in self._recent:
            self._recent.remove(day)
        self._recent.append(day)
        while len(self._recent) > self._max_dates:
            old = self._recent.pop(0)
            for key in self._dated.pop(old, set()):
                self._values.pop(key, None)

    # -- dates ---------------------------------------------------------------
    def dates(self) -> tuple[date, ...]:
        """Dates with a saved snapshot, oldest first."""
        return self.home.snapshot_dates()

    def default_date(self) -> date | None:
        """The configured date if it has a snapshot, else the latest one."""
        dates = self.dates()
        if self.config.as_of in dates:
            return self.config.as_of
        return dates[-1] if dates else None

    def scored_dates(self) -> tuple[date, ...]:
        """Dates with stored scores, oldest first."""
        return self.home.scored_dates()

    def previous_scored(self, day: date) -> date | None:
        """The scored date before ``day``, if any."""
        earlier = [d for d in self.scored_dates() if d < day]
        return earlier[-1] if earlier else None

    # -- snapshot, graph, grades ---------------------------------------------
    def snapshot(self, day: date) -> Snapshot:
        """The saved snapshot of ``day``."""
        return self._cached(
            ("snapshot", day),
            lambda: self.home.snapshot(day),
            day,
        )

    def graph(self, day: date) -> GraphIndex:
        """Both directions of every relation of the snapshot, for the graphs."""
        return self._cached(("graph", day), lambda: GraphIndex(self.snapshot(day)), day)

    def row_of(self, day: date, enterprise_id: str) -> int | None:
        """Snapshot row of an enterprise; None when it is not in the snapshot."""
        graph = self.graph(day)
        found = graph.index_of(enterprise_id)
        return found if found is not None and found < graph.n_enterprises else None

    def node_name(self, day: date) -> Callable[[str], str | None]:
        """Name of an enterprise id or person key in ``day``'s snapshot (None when unknown
        or filed without a name): how evidence names who it is about. Each lookup is kept
        for the caller's lifetime (warnings name the same firms over and over)."""
        graph = self.graph(day)
        seen: dict[str, str | None] = {}

        def name(node_id: str) -> str | None:
            if node_id not in seen:
                node = graph.index_of(node_id)
                seen[node_id] = (graph.names[node].as_py() or None) if node is not None else None
            return seen[node_id]

        return name

    def grades(self, day: date) -> Grades | None:
        """The stored grades of ``day`` (the current model's if it scored that date), or None
        when the date was not scored."""
        return self._cached(("grades", day), lambda: self._read_grades(day), day)

    def stored(self, day: date) -> Stored | None:
        """The stored scores of ``day`` without their reasons (no snapshot needed), or None.
        Kept for every date asked for: the enterprise page's history reads them all."""

        def build() -> Stored | None:
            path = self.home.scores_file(day)
            if path is None:
                return None
            table = pq.read_table(path, columns=["id", "grade", "score", "rank"])
            return Stored(day, table, ScoresMeta.read(path))

        return self._cached(("stored", day), build)

    def reasons(self, day: date) -> pa.Table:
        """``id`` and ``reasons`` (JSON) of the enterprises whose reasons were stored."""

        def build() -> pa.Table:
            path = self.home.scores_file(day)
            if path is None:
                return pa.table({"id": pa.array([], pa.string()), "reasons": pa.array([])})
            table = pq.read_table(path, columns=["id", "reasons"])
            return table.filter(pc.is_valid(table["reasons"]))

        return self._cached(("reasons", day), build, day)

    def previous_grades(self, day: date) -> np.ndarray:
        """Grade on the previous scored date of each enterprise row of ``day``'s snapshot
        ("" when not graded then): the grade change, without a lookup per warning."""

        def build() -> np.ndarray:
            before = self.previous_scored(day)
            stored = self.stored(before) if before else None
            ids = self.snapshot(day).enterprises["id"]
            out = np.full(len(ids), "", dtype=object)
            if stored is not None:
                rows = pc.index_in(ids, value_set=stored.table["id"])
                out[:] = pc.fill_null(pc.take(stored.table["grade"], rows), "").to_pylist()
            return _frozen(out)

        return self._cached(("previous_grades", day), build, day)

    def _read_grades(self, day: date) -> Grades | None:
        stored = self.stored(day)
        if stored is None:
            return None
        table, meta = stored.table, stored.meta
        ids = self.snapshot(day).enterprises["id"]
        rows = pc.index_in(ids, value_set=table["id"]).to_numpy(zero_copy_only=False)
        has = ~np.isnan(rows.astype(float))
        take = rows[has].astype(np.int64)
        grade = np.full(len(rows), "", dtype=object)
        grade[has] = table["grade"].to_numpy(zero_copy_only=False)[take]
        score = np.full(len(rows), np.nan)
        score[has] = table["score"].to_numpy(zero_copy_only=False)[take]
        return Grades(
            model_version=meta.model_version,
            classes=meta.classes,
            grade=_frozen(grade),
            score=_frozen(score),
            table=table.select(["id", "grade", "score"]),
            population=meta.population,
        )

    def grade_counts(self, day: date, by: str) -> pa.Table:
        """Graded enterprises per value of an enterprise column (``region_code`` or
        ``industry``) and grade: ``group``, ``grade``, ``count``, largest groups first."""

        def build() -> pa.Table:
            grades = self.grades(day)
            if grades is None:
                return pa.table({"group": [], "grade": [], "count": []})
            table = pa.table(
                {
                    "group": pc.fill_null(self.snapshot(day).enterprises[by], "—"),
                    "grade": pa.array(grades.grade, pa.string()),
                }
            ).filter(pa.array(grades.grade != ""))
            counts = table.group_by(["group", "grade"]).aggregate([("grade", "count")])
            counts = counts.rename_columns(["group", "grade", "count"])
            totals = table.group_by("group").aggregate([("grade", "count")])
            order = totals.sort_by([("grade_count", "descending"), ("group", "ascending")])
            rank = pc.index_in(counts["group"], value_set=order["group"])
            return (
                counts.append_column("_rank", rank)
                .sort_by([("_rank", "ascending"), ("grade", "ascending")])
                .drop(["_rank"])
            )

        return self._cached(("grade_counts", by, day), build, day)

    def grade_mix_history(self) -> tuple[MonthMix, ...]:
        """Grade counts of every scored date, from the files' metadata (no rows read)."""
        out = []
        for day in self.scored_dates():
            path = self.home.scores_file(day)
            if path is not None:
                out.append(MonthMix(day, ScoresMeta.read(path).counts))
        return tuple(out)

    def graded(self, enterprise_id: str, day: date, with_reasons: bool = True) -> Graded | None:
        """Grade, score, rank and stored reasons of an enterprise on ``day``, from the
        cached scores (``risk.model.scores.read_grade`` reads the file each time: 0.4 s at a
        million rows)."""
        stored = self.stored(day)
        if stored is None:
            return None
        row = pc.index(stored.table["id"], enterprise_id).as_py()
        if row is None or row < 0:
            return None
        found = stored.table.slice(row, 1).to_pylist()[0]
        reasons = None
        if with_reasons:
            table = self.reasons(day)
            at = pc.index(table["id"], enterprise_id).as_py()
            if at is not None and at >= 0:
                reasons = parse_reasons(table["reasons"][at].as_py())
        return Graded(
            day,
            stored.meta.model_version,
            found["grade"],
            found["score"],
            found["rank"],
            stored.meta.population,
            reasons,
        )

    def history(self, enterprise_id: str) -> tuple[Graded, ...]:
        """The enterprise's stored grade on every scored date, oldest first."""
        found = (self.graded(enterprise_id, d, with_reasons=False) for d in self.scored_dates())
        return tuple(g for g in found if g is not None)

    def records_of(self, day: date, row: int) -> pa.Table:
        """The records of one enterprise in the snapshot (what its grade could see)."""
        order, bounds = self._cached(("records_index", day), lambda: self._records_index(day), day)
        rows = order[bounds[row] : bounds[row + 1]]
        return self.snapshot(day).records.take(pa.array(rows))

    def _records_index(self, day: date) -> tuple[np.ndarray, np.ndarray]:
        snap = self.snapshot(day)
        owner = snap.records["enterprise"].to_numpy()
        bounds = np.zeros(snap.n_enterprises + 1, dtype=np.int64)
        np.cumsum(np.bincount(owner, minlength=snap.n_enterprises), out=bounds[1:])
        return _frozen(np.argsort(owner, kind="stable")), _frozen(bounds)

    def active_records(self, day: date) -> dict[str, int]:
        """Records in force on ``day`` per kind."""

        def count() -> dict[str, int]:
            rec = self.snapshot(day).records
            active = rec.filter(pc.is_null(rec["end"]))
            counts = {c["values"]: c["counts"] for c in pc.value_counts(active["kind"]).to_pylist()}
            return {k: int(counts.get(k, 0)) for k in RECORD_KINDS}

        return dict(self._cached(("active_records", day), count, day))

    def search(self, day: date, query: str, limit: int = 20) -> list[tuple[str, str]]:
        """Enterprises whose id starts with or whose name contains ``query``, then the names
        the matcher finds near it (another legal form, 繁体, pinyin, a typo: risk/matching.py),
        best first: (id, name)."""
        query = query.strip()
        if not query:
            return []
        ent = self.snapshot(day).enterprises
        mask = pc.or_(
            pc.starts_with(ent["id"], query.upper()),
            pc.match_substring(ent["name"], query),
        )
        found = ent.filter(pc.fill_null(mask, False)).slice(0, limit)
        out = list(zip(found["id"].to_pylist(), found["name"].to_pylist(), strict=True))
        if len(out) < limit:
            seen = {eid for eid, _ in out}
            near = self.matcher(day).match(query, limit)
            out += [(c.id, c.name) for c in near if c.id not in seen][: limit - len(out)]
        return out

    def matcher(self, day: date) -> NameMatcher:
        """The registered names of ``day`` for near matches (built once per date)."""

        def build() -> NameMatcher:
            snap = self.snapshot(day)
            ent = snap.enterprises
            return NameMatcher(
                ent["id"].to_pylist(),
                ent["name"].to_pylist(),
                snap.former_names.to_pylist(),
            )

        return self._cached(("matcher", day), build, day)

    # -- guarantee circles -----------------------------------------------------
    def circles(self, day: date) -> Circles:
        """Every guarantee circle of ``day`` (computed once per date: seconds at 1M)."""

        def build() -> Circles:
            ctx = FeatureContext(self.snapshot(day), self.rates())
            found = tuple(guarantee_circles(ctx))
            rank_of = np.full(ctx.n_enterprises, -1, dtype=np.int64)
            for k, circle in enumerate(found):
                rank_of[circle.members] = k
            return Circles(
                found, guarantee_graph(ctx), _frozen(ctx.capital.copy()), _frozen(rank_of)
            )

        return self._cached(("circles", day), build, day)

    def rates(self) -> RateTable:
        """The data home's currency rate table, read once (the board command refuses a bad
        one before it serves)."""
        return self._cached(("rates",), lambda: read_rates(self.settings.rates_path))

    def circle_summary(self, day: date) -> pa.Table:
        """One row per circle in exposure order: members, guarantees, CNY amount and amounts
        without a rate (``1,000 USD``, empty when none), defaulted guarantees, worst grade and
        the member with the largest capital (vectorised: a city has thousands of circles)."""

        def build() -> pa.Table:
            found = self.circles(day)
            n = len(found.circles)
            graph, rank_of = found.graph, found.rank_of
            inside = (rank_of[graph.src] >= 0) & (rank_of[graph.src] == rank_of[graph.dst])
            defaulted = np.bincount(rank_of[graph.src[inside & graph.defaulted]], minlength=n)
            members = np.flatnonzero(rank_of >= 0)
            grades = self.grades(day)
            worst = np.full(n, -1, dtype=np.int64)
            if grades is not None:
                level = {g: k for k, g in enumerate(grades.classes)}
                levels = np.array([level.get(str(g), -1) for g in grades.grade[members]])
                np.maximum.at(worst, rank_of[members], levels)
            capital = np.nan_to_num(found.capital[members], nan=-1.0)
            order = np.lexsort((-capital, rank_of[members]))
            firsts = np.r_[True, np.diff(rank_of[members][order]) != 0]
            largest = members[order][firsts]
            classes = grades.classes if grades is not None else ()
            return pa.table(
                {
                    "rank": np.arange(1, n + 1),
                    "members": [len(c.members) for c in found.circles],
                    "guarantees_n": [len(c.src) for c in found.circles],
                    "amount": [c.amount for c in found.circles],
                    "unconverted": [foreign_amounts(c.unconverted) for c in found.circles],
                    "defaulted": defaulted,
                    "worst_grade": [classes[w] if w >= 0 else "—" for w in worst.tolist()],
                    "largest": self.graph(day).names.take(pa.array(largest)),
                }
            )

        return self._cached(("circle_summary", day), build, day)

    # -- extension checks ------------------------------------------------------
    def black_listed(self, day: date) -> pa.Table:
        """Enterprises on the black list on ``day``: ``id`` and ``name``."""

        def build() -> pa.Table:
            rows = pa.array(black_listed(self.snapshot(day)))
            return self.snapshot(day).enterprises.select(["id", "name"]).take(rows)

        return self._cached(("black_listed", day), build, day)

    def extension(self, day: date, hops: int) -> pa.Table:
        """The extension list of the whole black list within ``hops`` (see
        risk/supervision/extension.py), ranked by score when the date was scored."""

        def build() -> pa.Table:
            grades = self.grades(day)
            return extension_checks(self.snapshot(day), grades.table if grades else None, hops=hops)

        return self._cached(("extension", hops, day), build, day)

    # -- warnings --------------------------------------------------------------
    def warnings(self, day: date) -> pa.Table | None:
        """Warnings raised for ``day`` as stored in the registry (read each time: their
        states change), or None when no warnings were ever raised."""
        if not self.settings.supervision_path.exists():
            return None
        with open_registry(self.settings.supervision_path, read_only=True) as registry:
            found = list_warnings(registry, as_of=day, limit=self.config.warnings_limit)
        columns = ("id", "type", "enterprise_id", "subject", "event_on", "evidence", "state")
        return pa.table(
            {
                **{c: pa.array([getattr(w, c) for w in found]) for c in columns},
                "disputed": pa.array([w.disputed for w in found], pa.bool_()),
            }
        )

    # -- plans and inspectors --------------------------------------------------
    def plan_ids(self) -> list[str]:
        """Recorded plans, newest first."""
        folder = self.settings.plans_dir
        if not folder.is_dir():
            return []
        paths = sorted(folder.glob("*.json"), key=lambda p: (p.stat().st_mtime, p.name))
        return [p.stem for p in reversed(paths)]

    def plan(self, plan_id: str) -> PlanRecord:
        """A recorded plan (read each time: plans are small and may be added by the CLI)."""
        return PlanRecord.load(self.settings.plans_dir, plan_id)

    def inspector_files(self) -> list[str]:
        """Names of the inspector files (CSV or Parquet) the board can draw with."""
        folder = self.settings.inspectors_dir
        if not folder.is_dir():
            return []
        return sorted(p.name for p in folder.iterdir() if p.suffix in (".csv", ".parquet"))

    def inspectors(self, file_name: str) -> tuple[Inspector, ...]:
        """The inspectors of one file of the inspectors folder (re-read when it changes)."""
        path = self.settings.inspectors_dir / Path(file_name).name
        stamp = path.stat().st_mtime_ns
        return self._cached(
            ("inspectors", path.name, stamp),
            lambda: tuple(read_inspectors(path, self.settings.person_id_salt)),
        )

    def index(self, day: date) -> SnapshotIndex:
        """The served lookups of a date's snapshot (risk/snapshot_index.py): ownership,
        controllers, paths, the report; built on first use (about 15 s and 2 GB at 1M firms)."""
        return self._cached(
            ("index", day), lambda: SnapshotIndex(self.snapshot(day), self.rates()), day
        )

    # -- change history ------------------------------------------------------------
    def changes(self, enterprise_id: str, until: date) -> tuple[Change, ...]:
        """The enterprise's change history up to ``until``, newest first (risk/history.py).

        The one read of the graph store: ended relations are in no snapshot. The store is
        opened read-only for this read alone and closed at once; a
        :class:`~graph_model.errors.CreditGraphError` (store busy with a load, missing)
        reaches the caller, which says so instead of the history."""
        with open_store(self.settings, read_only=True) as store:
            return tuple(enterprise_history(store, enterprise_id, until=until))

    def warm(self, day: date) -> None:
        """Compute what the first render of each page needs for ``day``."""
        self.graph(day)
        self.grades(day)
        self.active_records(day)
        self._cached(("records_index", day), lambda: self._records_index(day), day)
        self.previous_grades(day)
        self.reasons(day)
        self.circle_summary(day)
        self.black_listed(day)
        self.extension(day, self.config.extension_hops)
