"""What the API serves from, opened once per app by the factory (no module-level state).

- the store, opened read-only: enterprises, records, paths (one connection; LadybugDB
  connections are thread-safe and serialise their queries, and a connection per worker
  thread measured no faster on two cores, docs/api.md);
- the latest saved snapshot, as a :class:`~risk.snapshot_index.SnapshotIndex` (circles,
  their amounts converted with the data home's rate table; integrated ownership, walks), and
  the extension checks of its black-listed firms, both mapped from the snapshot's served copy
  (risk/served.py: written by the first start after a snapshot, then read in seconds);
- the latest stored grades (:class:`GradeBook`), for the regulators' profile and screening;
- the API keys, the audit log, and a lock that lets one plan draw run at a time.

Nothing here computes features or scores: those are jobs (``creditgraph features``,
``creditgraph score``). Restart the server to serve a newer snapshot or grading.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Annotated

import pyarrow as pa
import pyarrow.parquet as pq
from fastapi import Depends, Request

from access.audit import AuditLog
from access.keyring import KeyRing
from access.settings import AccessSettings
from api.errors import Unavailable
from graph_model.rates import RatesError, read_rates
from graph_model.snapshot import Snapshot
from graph_model.store.open import open_store
from graph_model.store.protocol import GraphStore, StoreError
from risk.data_home import DataHome, NoSnapshotError, ScoresMeta
from risk.model.reasons import parse_reasons
from risk.model.scores import GradeRecord, ReasonSettings
from risk.served import file_stamp, open_served, served_table
from risk.snapshot_index import SnapshotIndex
from risk.supervision.extension import extension_checks

log = logging.getLogger("creditgraph.api")

EXTENSION_HOPS = 2
"""Extension checks of every black-listed firm are computed once, at this depth."""


@dataclass(frozen=True)
class GradeBook:
    """One date's stored grades in memory: id → grade, score, rank, reasons."""

    as_of: date
    path: Path
    model_version: str
    population: int
    reason_settings: ReasonSettings
    table: pa.Table
    rows: dict[str, int]

    @classmethod
    def load(cls, home: DataHome) -> GradeBook | None:
        """The grades of the latest scored date (the current model's when it scored it)."""
        days = home.scored_dates()
        path = home.scores_file(days[-1]) if days else None
        if path is None:
            return None
        table = pq.read_table(
            path, columns=["id", "model_version", "score", "rank", "grade", "reasons"]
        )
        meta = ScoresMeta.read(path)
        ids = table["id"].to_pylist()
        return cls(
            as_of=days[-1],
            path=path,
            model_version=meta.model_version,
            population=meta.population,
            reason_settings=meta.reason_settings,
            table=table,
            rows={enterprise: i for i, enterprise in enumerate(ids)},
        )

    def get(self, enterprise_id: str) -> GradeRecord | None:
        """The stored grade of an enterprise on :attr:`as_of`, None when not graded."""
        row = self.rows.get(enterprise_id)
        if row is None:
            return None
        values = {
            name: self.table[name][row].as_py() for name in ("score", "rank", "grade", "reasons")
        }
        return GradeRecord(
            enterprise_id=enterprise_id,
            as_of=self.as_of,
            model_version=self.model_version,
            score=values["score"],
            rank=values["rank"],
            population=self.population,
            grade=values["grade"],
            reasons=parse_reasons(values["reasons"]) if values["reasons"] is not None else None,
            reason_settings=self.reason_settings,
        )

    def grading(self) -> pa.Table:
        """``id, grade, score``: what plans and extension checks rank by."""
        return self.table.select(["id", "grade", "score"])


@dataclass
class Services:
    """The app's resources; see the module docstring. Made by :meth:`open`."""

    settings: AccessSettings
    home: DataHome
    keyring: KeyRing
    audit: AuditLog
    store: GraphStore | None
    store_problem: str | None
    snapshot: Snapshot | None
    index: SnapshotIndex | None
    snapshot_problem: str | None
    grades: GradeBook | None
    extension: pa.Table | None
    plan_lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def open(cls, settings: AccessSettings) -> Services:
        """Open the store, read the latest snapshot and grades, open the audit log.

        A missing or unreadable store or snapshot does not stop the server: readiness says
        what is missing and the routes that need it answer 503 with the same message.
        """
        keyring = KeyRing(settings.api_clients())
        if not len(keyring):
            log.warning(
                "no API keys configured (CREDITGRAPH_API_KEYS): every route but health refuses"
            )
        home = DataHome(settings)
        store, store_problem = None, None
        try:
            store = open_store(settings, read_only=True)
        except StoreError as exc:
            store_problem = str(exc)
            log.error("store not served: %s", exc)
        index, snapshot_problem, snapshot, folder = None, None, None, None
        try:
            folder = home.latest_snapshot_folder(date.today())
            snapshot, index = open_served(folder, read_rates(settings.rates_path))
        except NoSnapshotError as exc:
            snapshot_problem = str(exc)
            log.error("snapshot not served: %s", exc)
        except RatesError as exc:
            # Its line, field and reason help the client; the data home's path stays here.
            snapshot = None
            where = ", ".join(
                part
                for part in (
                    f"line {exc.line}" if exc.line is not None else "",
                    f"field {exc.field}" if exc.field else "",
                )
                if part
            )
            snapshot_problem = (
                f"the data home's currency rate table {exc.path.name} is refused "
                f"({where + ': ' if where else ''}{exc.reason}); fix it and restart"
            )
            log.error("snapshot not served: %s", exc)
        except (OSError, ValueError, KeyError) as exc:
            # The cause goes to the server log; clients get what to do, not internals.
            snapshot = None
            snapshot_problem = (
                "the latest saved snapshot could not be read: take it again with "
                "`creditgraph snapshot --as-of …` (the server log says why)"
            )
            log.error("snapshot not served: %s", exc, exc_info=True)
        grades = GradeBook.load(home)
        extension = None
        if snapshot is not None and folder is not None:
            grading = grades if grades is not None and grades.as_of == snapshot.as_of else None
            served = snapshot
            extension = served_table(
                folder,
                "extension",
                [EXTENSION_HOPS, file_stamp(grading.path) if grading else None],
                lambda: extension_checks(
                    served, grading.grading() if grading else None, EXTENSION_HOPS
                ),
            )
        return cls(
            settings=settings,
            home=home,
            keyring=keyring,
            audit=AuditLog(settings.audit_path),
            store=store,
            store_problem=store_problem,
            snapshot=snapshot,
            index=index,
            snapshot_problem=snapshot_problem,
            grades=grades,
            extension=extension,
        )

    def require_store(self) -> GraphStore:
        """The store, or 503 with why it is not served."""
        if self.store is None:
            raise Unavailable(f"the graph store is not available: {self.store_problem}")
        return self.store

    def served_day(self) -> date:
        """The day answers are of when the caller names none: the served snapshot's, so that
        paths and stakes agree with it; today without a snapshot."""
        return self.index.as_of if self.index is not None else date.today()

    def mismatch(self) -> str | None:
        """Why the served snapshot and grades disagree, if they do: grades, reasons and
        screening levels then come from different dates."""
        if self.index is None or self.grades is None or self.index.as_of == self.grades.as_of:
            return None
        return (
            f"the snapshot served is of {self.index.as_of}, the grades of "
            f"{self.grades.as_of}: score {self.index.as_of} (`creditgraph score --as-of "
            f"{self.index.as_of}`) or take the snapshot of {self.grades.as_of}, then restart"
        )

    def require_index(self) -> SnapshotIndex:
        """The snapshot index, or 503 with why no snapshot is served."""
        if self.index is None:
            raise Unavailable(f"no snapshot is served: {self.snapshot_problem}")
        return self.index

    def close(self) -> None:
        if self.store is not None:
            self.store.close()
        self.audit.close()


def get_services(request: Request) -> Services:
    """The app's services (set by the factory)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
