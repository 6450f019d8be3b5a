"""What every kind of background run shares: a small thread pool of this process that takes
run ids, a lease keeper that claims each run's row for this server, and the record of a run
that failed. Stepped runs (``stepped.py``: regroupings, capture-time re-reads) and exports
(``exports.py``) say how a run is claimed and done."""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from datetime import datetime

from trapline.background.lease import LeaseKeeper
from trapline.background.runner import Runner
from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.errors import TraplineError

log = logging.getLogger(__name__)


class LeasedRuns(ABC):
    """Runs of one kind, done on ``workers`` threads of this process, each under a lease."""

    #: What the logs call one run (``export``, ``event regrouping``).
    what: str
    #: The name of the threads they run on.
    thread: str

    def __init__(self, db: Database, *, name: str, clock: Clock, workers: int = 1) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.keeper = LeaseKeeper(db, holder=name, clock=clock)
        self._runner: Runner[int] = Runner(self._run_logged, workers=workers, name=self.thread)

    @abstractmethod
    def run(self, run_id: int) -> bool:
        """Claim the run and do it here; False when it was not there to claim."""

    @abstractmethod
    def record_failure(self, repos: Repos, run_id: int, reason: str, now: datetime) -> None:
        """Mark the run failed, saying why (while it is still this server's)."""

    def submit(self, run_id: int) -> None:
        """Do the run soon (once, however often asked)."""
        self._runner.submit(run_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the runs submitted here have ended; False when ``timeout`` seconds
        passed first."""
        return self._runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop: a run going on here goes back to the queue at its next step or batch, and
        those not started are left to the duty of this or another server."""
        self._runner.close()

    @property
    def closing(self) -> bool:
        """Whether this server is stopping."""
        return self._runner.closing.is_set()

    def _run_logged(self, run_id: int) -> None:
        if self.closing:
            return
        try:
            self.run(run_id)
        except TraplineError as exc:  # the database went away: the duty tries again
            log.warning("%s %s could not run: %s", self.what, run_id, exc.detail)
        except Exception:
            log.exception("%s %s failed", self.what, run_id)
            self.fail(run_id, "internal error; see the server log")

    def fail(self, run_id: int, reason: str) -> None:
        """Record that the run failed; a warning in the log when even that cannot be done."""
        try:
            with self.db.write() as repos:
                self.record_failure(repos, run_id, reason, self.clock.now())
        except TraplineError as exc:
            log.warning("could not record that %s %s failed: %s", self.what, run_id, exc.detail)
