"""Background jobs of one board: work that takes seconds runs on a worker thread, not in the
request that asked for it, and the page polls for its result.

Drawing a plan over a city takes 6–10 s; inside a callback it held the request (and a
server thread) with no feedback. A page instead submits the work here, keeps the job id
in a ``dcc.Store`` and asks every half second (a ``dcc.Interval``) how it is going: still
running (with the seconds it has taken), done with a result, or failed with a message.

One :class:`Jobs` per app, made by :func:`dashboard.app.create_app` (no module-level
state): a small thread pool, so that a few draws at once do not starve the server's own
threads, and a table of jobs by random id. A finished job is kept until its page collects
it, or for :data:`KEEP` at most; ids are unguessable, so one user's page cannot collect
another's job by counting.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

KEEP = 600.0
"""Seconds a finished job's result waits for its page before it is dropped."""

WORKERS = 2
"""Jobs that run at once; more wait in line (and say so: not started yet)."""


@dataclass(frozen=True)
class JobState:
    """Where a job is: ``running`` (or ``waiting`` for a worker), ``done`` with its
    ``result``, ``failed`` with the ``error`` message, or ``unknown`` (no such job, or
    collected already)."""

    status: str
    seconds: float = 0.0
    result: Any = None
    error: str | None = None


@dataclass
class _Job:
    future: Future[Any]
    submitted: float
    started: float | None = None
    finished: float | None = None


class Jobs:
    """The board's background jobs: submit work, poll it, collect its result once."""

    def __init__(self, workers: int = WORKERS, clock: Callable[[], float] = time.monotonic):
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="board-job")
        self._jobs: dict[str, _Job] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def submit(self, work: Callable[..., Any], *args: Any) -> str:
        """Run ``work(*args)`` on a worker thread; the job's id."""
        job_id = secrets.token_urlsafe(12)
        with self._lock:
            self._prune()
            job = _Job(Future(), self._clock())
            self._jobs[job_id] = job

        def run() -> Any:
            job.started = self._clock()
            try:
                return work(*args)
            finally:
                job.finished = self._clock()

        try:
            job.future = self._pool.submit(run)
        except RuntimeError:  # the app is closing: no new job
            with self._lock:
                del self._jobs[job_id]
            raise
        return job_id

    def poll(self, job_id: str | None, collect: bool = True) -> JobState:
        """The state of a job; a finished one is forgotten once collected."""
        with self._lock:
            job = self._jobs.get(job_id or "")
            if job is None:
                return JobState("unknown")
            now = self._clock()
            if not job.future.done():
                if job.started is None:
                    return JobState("waiting", now - job.submitted)
                return JobState("running", now - job.started)
            if collect:
                del self._jobs[job_id or ""]
        seconds = (job.finished or now) - (job.started or job.submitted)
        error = job.future.exception()
        if error is not None:
            return JobState("failed", seconds, error=str(error) or type(error).__name__)
        return JobState("done", seconds, result=job.future.result())

    def _prune(self) -> None:
        """Drop finished jobs nobody collected within :data:`KEEP` seconds."""
        now = self._clock()
        stale = [
            k
            for k, j in self._jobs.items()
            if j.future.done() and j.finished is not None and now - j.finished > KEEP
        ]
        for k in stale:
            del self._jobs[k]

    def close(self) -> None:
        """Stop taking jobs; running ones finish on their own."""
        self._pool.shutdown(wait=False, cancel_futures=True)
