"""Runs of pull sources: when and where they happen.

A run holds the source's *run lease* (``pull_sources.lease_holder``/``lease_expires_at``),
taken with one guarded UPDATE and renewed while the run lasts, so no two server processes
ever run one source at once; a lease whose holder died expires and the source runs elsewhere.
What a run does under its lease is ``services/sources/source_ingest.py``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from trapline.background.lease import Leased, LeaseKeeper
from trapline.background.runner import Runner
from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.sources.sources import PullSource, SourceRun
from trapline.services.sources.source_files import RunLimits
from trapline.services.sources.source_ingest import SourceIngest
from trapline.services.sources.sources import SourceRules, next_run
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Sources the scheduler looks at per pass.
MAX_DUE = 100
#: Why a run whose server died is marked interrupted by the next one.
LEFT_BEHIND = "its server stopped before the run ended; the next run went on"


class SourceLease(Leased):
    """A pull source's run lease; taking it opens the run (the one queued, or a new one) and
    marks a run a dead server left behind as interrupted, in the same transaction."""

    def __init__(self, source_id: int, seconds: float) -> None:
        self.source_id = source_id
        self.seconds = seconds
        self.name = f"pull source {source_id}"
        #: Set by ``take``: the source, its run, and whether a dead server's run was left.
        self.source: PullSource | None = None
        self.run: SourceRun | None = None
        self.left = 0

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        sources = repos.sources.sources
        self.source = sources.get(self.source_id)
        if self.source is None or not sources.acquire(self.source_id, holder, until, now):
            return False
        self.left = sources.interrupt_runs(self.source_id, now, LEFT_BEHIND)
        self.run = sources.open_run(self.source_id) or sources.create_run(
            self.source_id, "schedule", now
        )
        sources.start_run(self.run.id, holder, now)
        return True

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.sources.sources.renew(self.source_id, holder, until)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        """Hand the lease back with the source's next run time."""
        current = repos.sources.sources.get(self.source_id)
        if current is None:
            return
        upcoming = current.next_run_at
        if upcoming is None or upcoming <= now:
            upcoming = next_run(current.schedule, now)
        repos.sources.sources.release(self.source_id, holder, upcoming)


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
        start_job: Callable[[int], object] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.rules = rules
        self.limits = limits
        self.holder = holder
        self.clock = clock or SystemClock()
        #: Called with a job's id once a run made one (``JobStarter.submit``).
        self.start_job = start_job
        self.keeper = LeaseKeeper(db, holder=holder, clock=self.clock)
        self._runner: Runner[int] = Runner(self._run, workers=concurrency, name="source")

    # Scheduling

    def run_due(self) -> int:
        """Start every due source this process is not running yet; returns how many."""
        with self.db.read() as repos:
            due = repos.sources.sources.due(self.clock.now(), MAX_DUE)
        return sum(self.submit(source_id) for source_id in due)

    def submit(self, source_id: int) -> bool:
        """Run a source soon on this process's pool, unless it is running here already."""
        return self._runner.submit(source_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the source runs submitted here have ended; False when ``timeout``
        seconds passed first."""
        return self._runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop: runs going on end at their next file and say they were interrupted."""
        self._runner.close()

    def _run(self, source_id: int) -> None:
        """Run the source on a pool thread; log what goes wrong (nobody waits for it)."""
        try:
            self.run_source(source_id)
        except Exception:
            log.exception("pull source %s: the run failed", source_id)

    # One run

    def run_source(self, source_id: int) -> SourceRun | None:
        """Run the source now, here, if its lease is free; the run as it ended, else None."""
        lease = SourceLease(source_id, self.limits.lease_seconds)
        if not self.keeper.acquire(lease):
            return None
        assert lease.source is not None
        assert lease.run is not None
        if lease.left:
            log.info("pull source %s: a run its dead server left was marked interrupted", source_id)
        try:
            with self.keeper.kept(lease) as lost:
                ingest = SourceIngest(
                    self.db,
                    self.store,
                    self.rules,
                    self.limits,
                    start_job=self.start_job,
                    clock=self.clock,
                )
                ingest.execute(lease.source, lease.run.id, lost=lost, closing=self._runner.closing)
        finally:
            self.keeper.release(lease)
        with self.db.read() as repos:
            return repos.sources.sources.get_run(lease.run.id)


def start_due_sources(runner: SourceRunner) -> None:
    """The scheduler duty: start every due source (each on one server process at a time)."""
    started = runner.run_due()
    if started:
        log.debug("pull sources: %d runs started", started)


#: RunLimits too: a SourceRunner is made with one.
__all__ = ["RunLimits", "SourceRunner", "start_due_sources"]
