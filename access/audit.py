"""The append-only audit log: one row per request, refused and failed ones included.

Each row says who (the key holder's name, never the key; ``anonymous`` without a valid
key), with which role, which route (template and concrete path), which subjects (the
enterprise ids in the path, the query and, for batches, the body), when (UTC), the outcome
(HTTP status) and how long it took. Rows live in an SQLite database in the data home
(``audit/audit.sqlite3``) whose triggers refuse every UPDATE and DELETE; the API has no
path that would issue one. Regulators read it through ``GET /v1/audit``.

Writes happen in the ASGI middleware after the answer is complete, in WAL mode with
``synchronous=NORMAL``: a row survives a crash of the server process once written; a power
loss can lose the last rows (``FULL`` would fsync each request: measure before choosing).
The board (``dashboard.auth``) writes its rows to the same log through :class:`AuditLog`.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from graph_model.identifiers import enterprise_id_valid_array, mask_id_numbers_in

if TYPE_CHECKING:
    # Types only: the board (a Flask app) writes to the same log without importing Starlette.
    from starlette.requests import Request
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_SUBJECTS = 200
"""Subjects kept per row (a batch screening names up to 100 enterprises)."""

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        client TEXT NOT NULL,
        role TEXT,
        method TEXT NOT NULL,
        route TEXT,
        path TEXT NOT NULL,
        status INTEGER NOT NULL,
        duration_ms REAL NOT NULL,
        subjects TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS audit_subject (
        entry INTEGER NOT NULL REFERENCES audit(id),
        subject TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS audit_at ON audit(at)",
    "CREATE INDEX IF NOT EXISTS audit_client ON audit(client)",
    "CREATE INDEX IF NOT EXISTS audit_subject_subject ON audit_subject(subject)",
    *(
        f"""CREATE TRIGGER IF NOT EXISTS {table}_no_{verb} BEFORE {verb.upper()} ON {table}
        BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END"""
        for table in ("audit", "audit_subject")
        for verb in ("update", "delete")
    ),
)


@dataclass
class AuditNote:
    """What a request adds to its audit row while it runs: who, and subjects from a body."""

    client: str = "anonymous"
    role: str | None = None
    subjects: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AuditEntry:
    """One row of the log."""

    id: int
    at: str
    client: str
    role: str | None
    method: str
    route: str | None
    path: str
    status: int
    duration_ms: float
    subjects: tuple[str, ...]


@dataclass(frozen=True)
class AuditFilter:
    """What to read back: every field optional; newest first, ``limit`` rows from ``offset``
    among the rows older than ``before_id`` (default: every row logged so far)."""

    client: str | None = None
    role: str | None = None
    subject: str | None = None
    route: str | None = None
    status_min: int | None = None
    status_max: int | None = None
    since: datetime | None = None
    until: datetime | None = None
    before_id: int | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True)
class AuditPage:
    """A page of the log: its rows, the rows matching in all, and the bound they were read
    under (pass it back with the next offset: rows logged since do not shift the pages)."""

    rows: list[AuditEntry]
    total: int
    before_id: int


def _stamp(moment: datetime) -> str:
    """An instant as stored: UTC, milliseconds, ``Z``; a naive instant is read as UTC."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        moment = moment.astimezone(UTC)
    except OverflowError:  # an offset that pushes year 1 or 9999 out of range
        moment = (datetime.min if moment.year < 5000 else datetime.max).replace(tzinfo=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class AuditLog:
    """The audit database: appends from the middleware, filtered reads for regulators."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        # One writer connection shared by the event loop and worker threads, under a lock.
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.Lock()
        with self._lock:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
            for statement in _SCHEMA:
                self._conn.execute(statement)

    def append(
        self,
        *,
        client: str,
        role: str | None,
        method: str,
        route: str | None,
        path: str,
        status: int,
        duration_ms: float,
        subjects: Iterable[str],
        at: datetime | None = None,
    ) -> int:
        """Write one row (and its subjects) in one transaction; returns its id. An ID number
        in the path (sent by mistake as an enterprise id) is kept masked."""
        kept = list(dict.fromkeys(subjects))[:MAX_SUBJECTS]
        path = mask_id_numbers_in(path)
        stamp = _stamp(at or datetime.now(UTC))
        with self._lock:
            self._conn.execute("BEGIN")
            try:
                cursor = self._conn.execute(
                    "INSERT INTO audit (at, client, role, method, route, path, status, "
                    "duration_ms, subjects) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        stamp,
                        client,
                        role,
                        method,
                        route,
                        path,
                        status,
                        round(duration_ms, 3),
                        json.dumps(kept, ensure_ascii=False),
                    ),
                )
                entry = int(cursor.lastrowid or 0)
                self._conn.executemany(
                    "INSERT INTO audit_subject (entry, subject) VALUES (?, ?)",
                    [(entry, s) for s in kept],
                )
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
        return entry

    def read(self, wanted: AuditFilter) -> AuditPage:
        """Rows matching every given filter, newest first: at most ``limit`` from ``offset``,
        with how many match in all."""
        where: list[str] = []
        params: list[object] = []
        for column, value in (("client", wanted.client), ("role", wanted.role)):
            if value is not None:
                where.append(f"a.{column} = ?")
                params.append(value)
        if wanted.route is not None:
            where.append("a.route = ?")
            params.append(wanted.route)
        if wanted.subject is not None:
            where.append("a.id IN (SELECT entry FROM audit_subject WHERE subject = ?)")
            params.append(wanted.subject)
        if wanted.status_min is not None:
            where.append("a.status >= ?")
            params.append(wanted.status_min)
        if wanted.status_max is not None:
            where.append("a.status <= ?")
            params.append(wanted.status_max)
        if wanted.since is not None:
            where.append("a.at >= ?")
            params.append(_stamp(wanted.since))
        if wanted.until is not None:
            where.append("a.at < ?")
            params.append(_stamp(wanted.until))
        where.append("a.id < ?")
        clause = f"WHERE {' AND '.join(where)}"
        query = (
            "SELECT id, at, client, role, method, route, path, status, duration_ms, subjects "
            f"FROM audit a {clause} ORDER BY a.id DESC LIMIT ? OFFSET ?"
        )
        with self._lock:
            bound = wanted.before_id
            if bound is None:
                bound = int(
                    self._conn.execute("SELECT coalesce(max(id), 0) + 1 FROM audit").fetchone()[0]
                )
            params.append(bound)
            (total,) = self._conn.execute(
                f"SELECT count(*) FROM audit a {clause}", params
            ).fetchone()
            rows = self._conn.execute(query, [*params, wanted.limit, wanted.offset]).fetchall()
        entries = [
            AuditEntry(
                id=row[0],
                at=row[1],
                client=row[2],
                role=row[3],
                method=row[4],
                route=row[5],
                path=row[6],
                status=row[7],
                duration_ms=row[8],
                subjects=tuple(json.loads(row[9])),
            )
            for row in rows
        ]
        return AuditPage(entries, int(total), bound)

    def close(self) -> None:
        with self._lock:
            self._conn.close()


def note_subjects(request: Request, ids: Iterable[str]) -> None:
    """Name subjects the path and query do not show (ids in a request body) for the audit."""
    note = getattr(request.state, "audit", None)
    if isinstance(note, AuditNote):
        note.subjects.extend(ids)


def enterprise_ids(candidates: list[str]) -> list[str]:
    """The candidates that are enterprise ids (checked USCCs or external ids), in order."""
    valid = enterprise_id_valid_array(candidates)
    return [c for c, ok in zip(candidates, valid, strict=True) if ok]


def _subjects(scope: Scope, note: AuditNote) -> list[str]:
    """Enterprise ids named by the path, the query string and the handler (batch bodies)."""
    candidates = [str(v) for v in scope.get("path_params", {}).values()]
    query = scope.get("query_string", b"")
    if query:
        candidates += [v for _, v in parse_qsl(query.decode("latin-1"))]
    return enterprise_ids(candidates) + note.subjects


class AuditMiddleware:
    """ASGI middleware writing one audit row per HTTP request, whatever its outcome."""

    def __init__(self, app: ASGIApp, log: AuditLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        note = AuditNote()
        # Per-request state (Starlette copies the app state into each request's scope).
        scope["state"] = {**scope.get("state", {}), "audit": note}
        status = 500
        started = time.perf_counter()

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            route = scope.get("route")
            self.log.append(
                client=note.client,
                role=note.role,
                method=scope["method"],
                route=getattr(route, "path", None),
                path=scope["path"],
                status=status,
                duration_ms=(time.perf_counter() - started) * 1000,
                subjects=_subjects(scope, note),
            )
