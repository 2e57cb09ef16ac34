"""The supervision registry: a small SQLite database in the data home (``supervision.sqlite``)
for what supervisors write and read in small pieces: warnings and their state changes, the
runs that raised them, watchlists.

The schema is created when the file is opened and carries a version; a file of another
version is refused rather than guessed at. Every change runs in one transaction. The
database is in WAL mode, so readers (the API, the board) do not block a running job.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from graph_model.errors import CreditGraphError

SCHEMA_VERSION = "1"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS warning_runs (
    id INTEGER PRIMARY KEY,
    as_of TEXT NOT NULL,
    previous_as_of TEXT NOT NULL,
    hops INTEGER NOT NULL,
    ran_at TEXT NOT NULL,
    found INTEGER NOT NULL,
    added INTEGER NOT NULL,
    closed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS warnings (
    id INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    enterprise_id TEXT NOT NULL,
    subject TEXT NOT NULL,
    event_on TEXT NOT NULL,
    as_of TEXT NOT NULL,
    evidence TEXT NOT NULL,
    disputed INTEGER NOT NULL CHECK (disputed IN (0, 1)),
    state TEXT NOT NULL DEFAULT 'new' CHECK (state IN ('new', 'seen', 'closed')),
    run_id INTEGER NOT NULL REFERENCES warning_runs (id),
    UNIQUE (type, enterprise_id, subject)
);
CREATE INDEX IF NOT EXISTS warnings_by_enterprise ON warnings (enterprise_id, state);
CREATE INDEX IF NOT EXISTS warnings_by_state ON warnings (state, as_of);
CREATE TABLE IF NOT EXISTS warning_events (
    id INTEGER PRIMARY KEY,
    warning_id INTEGER NOT NULL REFERENCES warnings (id),
    at TEXT NOT NULL,
    actor TEXT NOT NULL,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    note TEXT
);
CREATE INDEX IF NOT EXISTS warning_events_by_warning ON warning_events (warning_id);
CREATE TABLE IF NOT EXISTS watchlists (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    owner TEXT NOT NULL,
    owner_kind TEXT NOT NULL CHECK (owner_kind IN ('bank', 'regulator')),
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS watchlist_members (
    watchlist_id INTEGER NOT NULL REFERENCES watchlists (id) ON DELETE CASCADE,
    enterprise_id TEXT NOT NULL,
    added_at TEXT NOT NULL,
    PRIMARY KEY (watchlist_id, enterprise_id)
) WITHOUT ROWID;
"""


class SupervisionError(CreditGraphError):
    """A supervision request that cannot be done, with a message meant for the user."""

    code = "supervision_refused"


def timestamp(at: datetime | None = None) -> str:
    """An instant as stored: ISO 8601 in UTC, to the second (now when not given)."""
    return (at or datetime.now(UTC)).astimezone(UTC).isoformat(timespec="seconds")


class Registry:
    """An open supervision database. Use :func:`open_registry`."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self.connection = connection

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """Run statements in one transaction: all of them are kept, or none."""
        conn = self.connection
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.rollback()
            raise
        conn.commit()


def _prepare(conn: sqlite3.Connection, path: Path, read_only: bool) -> None:
    if not read_only:
        conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA busy_timeout = 10000")
    has_meta = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'meta'"
    ).fetchone()
    found = (
        conn.execute("SELECT value FROM meta WHERE name = 'schema'").fetchone()
        if has_meta
        else None
    )
    if found is None and read_only:
        raise SupervisionError(f"{path} holds no supervision schema")
    if found is None:
        conn.executescript(
            f"BEGIN; {_SCHEMA} INSERT OR IGNORE INTO meta (name, value) "
            f"VALUES ('schema', '{SCHEMA_VERSION}'); COMMIT;"
        )
    elif found[0] != SCHEMA_VERSION:
        raise SupervisionError(
            f"{path} has supervision schema version {found[0]}, this version reads "
            f"{SCHEMA_VERSION}; keep the file and use the version that wrote it"
        )


@contextmanager
def open_registry(path: Path, read_only: bool = False) -> Iterator[Registry]:
    """Open the registry at ``path``: to write, creating it and its schema when missing; with
    ``read_only``, never creating or changing anything — a data home without a registry
    reads as an empty one (nothing recorded yet), held in memory."""
    if read_only and not path.exists():
        path, read_only = Path(":memory:"), False
    elif not read_only:
        path.parent.mkdir(parents=True, exist_ok=True)
    # isolation_level=None: transactions are explicit (Registry.transaction), never implied.
    conn = (
        sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)
        if read_only
        else sqlite3.connect(path, isolation_level=None)
    )
    try:
        try:
            _prepare(conn, path, read_only)
        except sqlite3.DatabaseError as exc:
            raise SupervisionError(f"{path} is not a supervision registry: {exc}") from exc
        yield Registry(conn)
    finally:
        conn.close()
