"""Runs of pull sources: when and where they happen.

A run holds the source's *run lease* (``pull_sources.lease_holder``/``lease_expires_at``),
taken with one guarded UPDATE and renewed while the run lasts, so no two server processes
ever run one source at once; a lease whose holder died expires and the source runs elsewhere.
What a run does under its lease is ``services/source_ingest.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import Any

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.sources import PullSource, SourceRun
from trapline.errors import TraplineError
from trapline.services.source_ingest import RunLimits, SourceIngest
from trapline.services.sources import SourceRules, next_run
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Sources the scheduler looks at per pass.
MAX_DUE = 100


class SourceRunner:
    """Runs pull sources: due ones from the scheduler duty, others when asked."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        rules: SourceRules,
        limits: RunLimits,
        *,
        holder: str,
        concurrency: int = 2,
        start_job: Any = None,
    ) -> None:
        self.db = db
        self.store = store
        self.rules = rules
        self.limits = limits
        self.holder = holder
        #: Called with a job's id once a run made one (``JobStarter.submit``).
        self.start_job = start_job
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="source")
        self._active: set[int] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()

    # Scheduling

    def run_due(self) -> int:
        """Start every due source this process is not running yet; returns how many."""
        with self.db.read() as repos:
            due = repos.sources.due(utcnow(), MAX_DUE)
        return sum(self.submit(source_id) for source_id in due)

    def submit(self, source_id: int) -> bool:
        """Run a source soon on this process's pool, unless it is running here already."""
        with self._lock:
            if source_id in self._active or self._closing.is_set():
                return False
            self._active.add(source_id)
        try:
            self._pool.submit(self._run_and_forget, source_id)
        except RuntimeError:  # the pool shut down meanwhile
            with self._lock:
                self._active.discard(source_id)
            return False
        return True

    def close(self) -> None:
        """Stop: runs going on end at their next file and say they were interrupted."""
        self._closing.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _run_and_forget(self, source_id: int) -> None:
        """Run the source on a pool thread; log what goes wrong (nobody waits for it)."""
        try:
            self.run_source(source_id)
        except Exception:
            log.exception("pull source %s: the run failed", source_id)
        finally:
            with self._lock:
                self._active.discard(source_id)

    # One run

    def run_source(self, source_id: int) -> SourceRun | None:
        """Run the source now, here, if its lease is free; the run as it ended, else None."""
        now = utcnow()
        lease = timedelta(seconds=self.limits.lease_seconds)
        with self.db.write() as repos:
            source = repos.sources.get(source_id)
            if source is None or not repos.sources.acquire(
                source_id, self.holder, now + lease, now
            ):
                return None
            left = repos.sources.interrupt_runs(
                source_id, now, "its server stopped before the run ended; the next run went on"
            )
            run = repos.sources.open_run(source_id) or repos.sources.create_run(
                source_id, "schedule", now
            )
            repos.sources.start_run(run.id, self.holder, now)
        if left:
            log.info("pull source %s: a run its dead server left was marked interrupted", source_id)
        stop = threading.Event()
        try:
            with self._renewing(source_id, stop):
                ingest = SourceIngest(
                    self.db, self.store, self.rules, self.limits, start_job=self.start_job
                )
                ingest.execute(source, run.id, lost=stop, closing=self._closing)
        finally:
            self._release(source)
        with self.db.read() as repos:
            return repos.sources.get_run(run.id)

    @contextmanager
    def _renewing(self, source_id: int, lost: threading.Event) -> Iterator[None]:
        """Renew the run lease every third of its length while the block runs; set ``lost``
        when another holder has it."""
        done = threading.Event()
        every = self.limits.lease_seconds / 3

        def keep() -> None:
            """Renew until the run ends or the lease is lost."""
            while not done.wait(every):
                until = utcnow() + timedelta(seconds=self.limits.lease_seconds)
                try:
                    with self.db.write() as repos:
                        kept = repos.sources.renew(source_id, self.holder, until)
                except TraplineError:
                    kept = True  # the database is away: try again; the lease has room
                if not kept:
                    lost.set()
                    return

        keeper = threading.Thread(target=keep, name=f"source-lease-{source_id}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _release(self, source: PullSource) -> None:
        """Give the run lease back, with the source's next run time."""
        now = utcnow()
        with self.db.read() as repos:
            current = repos.sources.get(source.id)
        if current is None:
            return
        upcoming = current.next_run_at
        if upcoming is None or upcoming <= now:
            upcoming = next_run(current.schedule, now)
        try:
            with self.db.write() as repos:
                repos.sources.release(source.id, self.holder, upcoming)
        except TraplineError as exc:
            log.warning("pull source %s: could not release its lease: %s", source.id, exc.detail)


def start_due_sources(runner: SourceRunner) -> None:
    """The scheduler duty: start every due source (each on one server process at a time)."""
    started = runner.run_due()
    if started:
        log.debug("pull sources: %d runs started", started)


#: RunLimits too: a SourceRunner is made with one.
__all__ = ["RunLimits", "SourceRunner", "start_due_sources"]
