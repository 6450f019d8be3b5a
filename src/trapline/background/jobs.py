"""Job starts in the background, so creating a job answers at once whatever its size."""

from __future__ import annotations

import logging

from trapline.background.runner import Runner
from trapline.db.engine import Database
from trapline.errors import TraplineError, Unavailable
from trapline.queue.base import TaskQueue
from trapline.services.processing.jobs import record_start_failure, start_job

log = logging.getLogger(__name__)

#: Failed tries to start a job (a backend unavailable meanwhile) before the job fails; the
#: recovery duty tries again every ten seconds or so.
MAX_START_TRIES = 10
#: Jobs started at once.
START_WORKERS = 2


class JobStarter:
    """Enqueues jobs and opens them to workers on a small pool; each job once at a time."""

    def __init__(self, db: Database, queue: TaskQueue, max_tries: int = MAX_START_TRIES) -> None:
        self.db = db
        self.queue = queue
        self.max_tries = max_tries
        self._runner: Runner[int] = Runner(self.start, workers=START_WORKERS, name="job-start")

    def submit(self, job_id: int) -> None:
        """Enqueue and open the job to workers, soon."""
        self._runner.submit(job_id)

    def start(self, job_id: int) -> None:
        """Enqueue and open the job to workers now; a job that cannot start fails, saying why.

        A backend that is unavailable gets ``max_tries`` chances (the recovery duty tries
        again); any other error fails the job at once, as trying again would fail again.
        """
        try:
            start_job(self.db, self.queue, job_id)
            return
        except TraplineError as exc:
            reason, retry = exc.detail, isinstance(exc, Unavailable)
            log.warning("starting job %s failed: %s", job_id, reason)
        except Exception as exc:
            reason, retry = f"internal error ({type(exc).__name__})", False
            log.exception("starting job %s failed", job_id)
        try:
            record_start_failure(
                self.db, self.queue, job_id, reason, retry=retry, max_tries=self.max_tries
            )
        except TraplineError as exc:  # the database is away too: the recovery duty tries again
            log.warning("could not record that job %s failed to start: %s", job_id, exc.detail)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the job starts submitted here have ended; False when ``timeout``
        seconds passed first."""
        return self._runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop taking work; jobs not started yet are picked up by the recovery duty."""
        self._runner.close()
