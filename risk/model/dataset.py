"""Training data: monthly as-of dates split by time, feature matrices and labels.

Rows are (enterprise, as-of date) pairs of the *population*: enterprises in operation on the
date (established, not revoked, deregistered or moved out, and registered here: foreign
shareholders keyed ``FOREIGN:`` are not market subjects of the city). Features come from the
snapshot of the date, labels from the window after it (see ``labels``).

The split is by time, never random. Monthly snapshots of one enterprise are near copies
with overlapping label windows, so a model learns the firms themselves, not only the risk:
on the demo city a validation window next to the training window scored ROC-AUC 0.95 while
the later test window scored 0.61. Each window therefore starts one horizon after the
previous one ends, so that every label the model was fitted or stopped on was already
known on the first day it is tested:

    train (12 month-ends) | horizon | validation (3) | horizon | test (3)

The last test date is the latest month-end whose label window is fully observed.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from graph_model.rates import RateTable
from graph_model.snapshot import History, Snapshot
from graph_model.store.protocol import GraphStore
from risk.features import FeatureMatrix, compute_features
from risk.model.dates import last_month_end_on_or_before, month_ends, shift_months
from risk.model.errors import ModelError
from risk.model.labels import LabelEvents

ENDED_STATUSES = ("revoked", "deregistered", "moved_out")
"""Statuses of enterprises that no longer operate (as the snapshot reads them)."""

FOREIGN_PREFIX = "FOREIGN:"
"""Foreign companies (domain.yaml ``FOREIGN`` scheme) hold shares here but are registered
abroad: they are not graded."""

_EXPORT_ROWS = 1_000_000


def in_operation(enterprises: pa.Table, as_of: date) -> np.ndarray:
    """Mask of the enterprises in operation on ``as_of``.

    Works on a snapshot's enterprise table and on a raw store export alike: an ended status
    counts only from its ``deregistered_on`` date (or always, when that date is unknown).
    """
    day = pa.scalar(as_of, pa.date32())
    established = pc.fill_null(pc.less_equal(enterprises["established_on"], day), True)
    ended_by_then = pc.fill_null(pc.less_equal(enterprises["deregistered_on"], day), True)
    ended = pc.and_(pc.is_in(enterprises["status"], pa.array(ENDED_STATUSES)), ended_by_then)
    foreign = pc.starts_with(enterprises["id"], FOREIGN_PREFIX)
    keep = pc.and_(established, pc.invert(pc.or_(pc.fill_null(ended, False), foreign)))
    return np.asarray(keep.to_numpy(zero_copy_only=False), dtype=bool)


@dataclass(frozen=True)
class Register:
    """Every enterprise's status and dates, read once, to find the population of any date."""

    enterprises: pa.Table

    @classmethod
    def from_store(cls, store: GraphStore, as_of: date) -> Register:
        """The enterprises established by ``as_of`` (the latest date needed)."""
        columns = ["id", "status", "established_on", "deregistered_on"]
        pages = [p.select(columns) for p in store.export_nodes("Enterprise", as_of, _EXPORT_ROWS)]
        return cls(pa.concat_tables(pages).combine_chunks())

    def population(self, as_of: date) -> pa.Array:
        """Ids of the enterprises in operation on ``as_of``."""
        mask = in_operation(self.enterprises, as_of)
        return self.enterprises["id"].combine_chunks().filter(pa.array(mask))


@dataclass(frozen=True)
class TimeSplit:
    """As-of dates of the training, validation and test windows, oldest first."""

    train: tuple[date, ...]
    valid: tuple[date, ...]
    test: tuple[date, ...]

    @classmethod
    def plan(
        cls, last_test: date, horizon_months: int, train: int, valid: int, test: int
    ) -> TimeSplit:
        """Month-end windows ending ``last_test``, each a horizon after the previous one."""
        if min(train, valid, test) < 1:
            raise ModelError("the training, validation and test windows need one month each")
        test_end = last_month_end_on_or_before(last_test)
        test_dates = month_ends(shift_months(test_end, 1 - test), test_end)
        valid_end = shift_months(test_dates[0], -horizon_months)
        valid_dates = month_ends(shift_months(valid_end, 1 - valid), valid_end)
        train_end = shift_months(valid_dates[0], -horizon_months)
        train_dates = month_ends(shift_months(train_end, 1 - train), train_end)
        split = cls(tuple(train_dates), tuple(valid_dates), tuple(test_dates))
        split.check(horizon_months)
        return split

    def check(self, horizon_months: int) -> None:
        """Refuse windows out of order or closer than a horizon (their labels would overlap)."""
        for (a_name, a), (b_name, b) in (
            (("training", self.train), ("validation", self.valid)),
            (("validation", self.valid), ("test", self.test)),
        ):
            if not a or not b:
                raise ModelError(f"the {a_name} and {b_name} windows need at least one date each")
            if shift_months(max(a), horizon_months) > min(b):
                raise ModelError(
                    f"the {b_name} window starts {min(b)}, less than the {horizon_months}-month "
                    f"horizon after the {a_name} window ends ({max(a)}): its labels would "
                    "overlap and the evaluation would not be honest"
                )

    @property
    def dates(self) -> tuple[date, ...]:
        return (*self.train, *self.valid, *self.test)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "train": [d.isoformat() for d in self.train],
            "valid": [d.isoformat() for d in self.valid],
            "test": [d.isoformat() for d in self.test],
        }


class FeatureSource:
    """Feature matrices per date: the data home's cached file if there is one (and it fits
    the catalog and was computed with the same currency rates), else computed from the saved
    snapshot or one cut from the store's history, then cached. The history is read from the
    store once, up to today (or the latest day asked, if later), and serves every month after
    that: the months of a training window cost one export, not one each. Snapshots taken here
    are not saved: a month of history needs only its features.
    """

    def __init__(
        self,
        store: GraphStore | None,
        features_dir: Path,
        snapshots_dir: Path,
        reuse: bool = True,
        progress: Callable[[str], None] | None = None,
        rates: RateTable | None = None,
    ) -> None:
        self._rates = rates if rates is not None else RateTable()
        self._store = store
        self._features_dir = features_dir
        self._snapshots_dir = snapshots_dir
        self._reuse = reuse
        self._progress = progress
        self._history: History | None = None

    def _note(self, message: str) -> None:
        if self._progress is not None:
            self._progress(message)

    def _saved(self, day: date) -> bool:
        return self._reuse and Snapshot.saved_in(self._snapshots_dir / day.isoformat())

    def _history_through(self, day: date) -> History:
        """The store's history through ``day`` at least (read once, up to today)."""
        if self._store is None:
            raise ModelError(f"no saved snapshot of {day} and no store to take one from")
        if self._history is None or self._history.upto < day:
            upto = max(day, date.today())
            self._note(f"graph history up to {upto}")
            self._history = History.export(self._store, upto)
        return self._history

    def snapshot(self, day: date) -> Snapshot:
        """The saved snapshot of ``day``, or one taken from the store."""
        if self._saved(day):
            return Snapshot.load(self._snapshots_dir / day.isoformat())
        history = self._history_through(day)
        self._note(f"snapshot {day}")
        return history.on(day)

    def _path(self, day: date) -> Path:
        return self._features_dir / f"{day.isoformat()}.parquet"

    def _cached(self, day: date) -> FeatureMatrix | None:
        """The cached features of ``day`` if they fit the catalog and the rates."""
        path = self._path(day)
        if not (self._reuse and path.exists()):
            return None
        try:
            cached = FeatureMatrix.load(path)
        except ValueError:
            why = "cached file is stale"
        else:
            if cached.rates == self._rates.on(day):
                return cached
            why = "cached with other currency rates"
        self._note(f"features {day}: {why}, computing again")
        return None

    def matrix(self, day: date, snapshot: Snapshot | None = None) -> FeatureMatrix:
        """Features as of ``day`` (all families)."""
        cached = self._cached(day)
        if cached is not None:
            return cached
        snap = snapshot or self.snapshot(day)
        self._note(f"features {day}")
        matrix = compute_features(snap, rates=self._rates)
        # Written aside and renamed: a worker killed while writing leaves no half file.
        partial = self._path(day).with_suffix(".partial")
        matrix.save(partial)
        os.replace(partial, self._path(day))
        return matrix

    def prepare(self, days: Sequence[date], workers: int) -> None:
        """Compute and cache the features of ``days`` not cached yet, ``workers`` months at
        a time: worker processes forked once the store's history is read, so they share it
        (each holds one month's snapshot and features besides: about 3 GB at 1M firms), and
        each saves its months where :meth:`matrix` then finds them. One worker, or one month
        to do, leaves every month to :meth:`matrix`."""
        # Files there but stale (another catalog, other rates) are left to :meth:`matrix`:
        # telling them apart means reading every cached month twice.
        missing = [d for d in days if not (self._reuse and self._path(d).exists())]
        if workers < 2 or len(missing) < 2:
            return
        if not all(self._saved(day) for day in missing):
            self._history_through(max(missing))  # read here, shared by every worker
        fork = multiprocessing.get_context("fork")
        count = min(workers, len(missing))
        share = [missing[k::count] for k in range(count)]
        running = [fork.Process(target=self._compute, args=(part,)) for part in share]
        for process in running:
            process.start()
        for process in running:
            process.join()
        failed = [(part, p.exitcode) for part, p in zip(share, running, strict=True) if p.exitcode]
        if failed:
            said = "; ".join(f"{', '.join(map(str, part))} (exit {code})" for part, code in failed)
            raise ModelError(f"computing features failed in a worker process for {said}")

    def _compute(self, days: list[date]) -> None:
        """A worker's months, one after the other (the worker's whole life)."""
        for day in days:
            self.matrix(day)


@dataclass(frozen=True)
class Rows:
    """Rows of one window: as-of date, enterprise id, features and label of each."""

    as_of: np.ndarray
    ids: pa.Array
    x: np.ndarray
    y: np.ndarray

    @property
    def positives(self) -> int:
        return int(self.y.sum())

    @classmethod
    def concat(cls, parts: list[Rows]) -> Rows:
        """The rows of ``parts`` (a window's dates) end to end, in their order."""
        return cls(
            as_of=np.concatenate([p.as_of for p in parts]),
            ids=pa.concat_arrays([p.ids for p in parts]),
            x=np.concatenate([p.x for p in parts]),
            y=np.concatenate([p.y for p in parts]),
        )


@dataclass(frozen=True)
class Dataset:
    """Feature names and the three windows' rows, with a fingerprint of the data."""

    names: tuple[str, ...]
    split: TimeSplit
    train: Rows
    valid: Rows
    test: Rows
    fingerprint: str
    summary: tuple[dict[str, object], ...]


def sample_negatives(y: np.ndarray, per_positive: float, seed: int, day: date) -> np.ndarray:
    """Indices of the rows kept for training: every positive and at most ``per_positive``
    negatives per positive, drawn at random (seeded by ``seed`` and the date); all rows
    when ``per_positive`` is 0 or there are fewer negatives than that."""
    positives = np.flatnonzero(y)
    negatives = np.flatnonzero(~y)
    keep = round(per_positive * len(positives))
    if per_positive <= 0 or len(negatives) <= keep:
        return np.arange(len(y))
    rng = np.random.default_rng([seed, day.toordinal()])
    chosen = rng.choice(negatives, size=keep, replace=False)
    return np.sort(np.concatenate([positives, chosen]))


def build_dataset(
    source: FeatureSource,
    events: LabelEvents,
    register: Register,
    split: TimeSplit,
    negatives_per_positive: float,
    seed: int,
    progress: Callable[[str], None] | None = None,
) -> Dataset:
    """Rows of every date of ``split``; training rows sampled (see ``sample_negatives``)."""
    for day in split.dates:
        events.check_observed(day)
    digest = hashlib.sha256()
    blocks: dict[str, list[Rows]] = {}
    names: tuple[str, ...] = ()
    summary = []
    for block, dates in (("train", split.train), ("valid", split.valid), ("test", split.test)):
        blocks[block] = []
        for day in dates:
            matrix = source.matrix(day)
            names = names or matrix.names
            if matrix.names != names:
                raise ModelError(
                    f"features of {day} have other columns than those of earlier dates"
                )
            member = pc.is_in(matrix.ids, value_set=register.population(day))
            rows = np.flatnonzero(member.to_numpy(zero_copy_only=False))
            ids = matrix.ids.take(pa.array(rows))
            y = events.labels(day, ids)
            digest.update(f"{block}|{day.isoformat()}|".encode())
            digest.update("\n".join(ids.to_pylist()).encode())
            digest.update(np.packbits(y).tobytes())
            kept = (
                sample_negatives(y, negatives_per_positive, seed, day)
                if block == "train"
                else np.arange(len(y))
            )
            blocks[block].append(
                Rows(
                    as_of=np.full(len(kept), np.datetime64(day, "D")),
                    ids=ids.take(pa.array(kept)),
                    x=matrix.values[rows[kept]],
                    y=y[kept],
                )
            )
            summary.append(
                {
                    "window": block,
                    "as_of": day.isoformat(),
                    "rows": len(y),
                    "positives": int(y.sum()),
                    "rows_used": len(kept),
                    "events": events.event_counts(day, ids),
                }
            )
            if progress is not None:
                progress(f"{block} {day}: {len(y):,} firms, {int(y.sum()):,} bad ({y.mean():.2%})")
    windows = {block: Rows.concat(parts) for block, parts in blocks.items()}
    for block, title in (("train", "training"), ("valid", "validation"), ("test", "test")):
        if windows[block].positives == 0:
            raise ModelError(
                f"the {title} window has no enterprise with a bad outcome: "
                "too few enterprises or too short a history to train on"
            )
    return Dataset(
        names=names,
        split=split,
        train=windows["train"],
        valid=windows["valid"],
        test=windows["test"],
        fingerprint=digest.hexdigest(),
        summary=tuple(summary),
    )
