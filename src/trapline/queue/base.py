"""The TaskQueue interface: how tasks of running jobs reach workers under leases.

The database is the record of truth for every task (``TaskRepo``); a queue decides delivery.
Backends fill the hooks: ``_claim`` always, the others when they keep a dispatch channel of
their own (JetStream) that must follow the database; such a backend also declares the
background work that repairs its channel (``background_duties``).
"""

from __future__ import annotations

import logging
import random
import secrets
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime, timedelta

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.domain.core.duties import Duty
from trapline.domain.core.records import ImageFilter
from trapline.domain.processing.jobs import Job, Lease
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.errors import Unavailable
from trapline.settings import QueueSettings

log = logging.getLogger(__name__)

#: Called with the ids of each chunk of a job's new tasks, before the next chunk is inserted.
NewTasks = Callable[[list[int]], None]


class TaskQueue(ABC):
    """Hands out queued tasks as leases and keeps a backend's dispatch channel in step."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        #: What times the leases, their expiry and the backoff of retries.
        self.clock: Clock = clock or SystemClock()

    # -- the public behaviour, the same for every backend --

    def enqueue(
        self,
        job: Job,
        flt: ImageFilter,
        *,
        collection_id: int | None = None,
        image_ids: Sequence[int] | None = None,
    ) -> int:
        """Create the job's tasks (idempotent) and make them deliverable; returns how many."""
        with self._delivering(job.id) as deliver, self.db.write() as repos:
            created = repos.processing.tasks.enqueue(
                job,
                flt,
                collection_id=collection_id,
                image_ids=image_ids,
                now=self.clock.now(),
                created=deliver,
            )
        self._enqueued(job.id, created)
        return created

    def claim(self, jobs: Mapping[int, int], batch_size: int, holder: str) -> list[Lease]:
        """Lease up to ``batch_size`` tasks from these jobs, shared fairly among them.

        ``jobs`` maps each job id to its lease length in seconds. Jobs are visited in random
        order, each offered an equal share and leftovers going to the rest, so a large job
        cannot starve a small one.
        """
        order = list(jobs)
        random.shuffle(order)
        leases: list[Lease] = []
        lease_id = secrets.token_hex(8)
        try:
            for position, job_id in enumerate(order):
                wanted = batch_size - len(leases)
                if wanted <= 0:
                    break
                share = -(-wanted // (len(order) - position))
                leases += self._claim(job_id, share, holder, jobs[job_id], lease_id)
            if len(leases) < batch_size and len(order) > 1:
                for job_id in order:
                    wanted = batch_size - len(leases)
                    if wanted <= 0:
                        break
                    leases += self._claim(job_id, wanted, holder, jobs[job_id], lease_id)
        except Unavailable:
            if not leases:
                raise
            # The leases taken from earlier jobs are committed: hand them out, or they would
            # sit with nobody until they expire.
            log.warning(
                "claim cut short after %d leases: the queue became unavailable", len(leases)
            )
        return leases

    def extend(self, claims: Sequence[LeaseClaim], seconds: int) -> set[int]:
        """Keep these leases for ``seconds`` more from now; returns the task ids still held."""
        now = self.clock.now()
        with self.db.write() as repos:
            return repos.processing.tasks.extend(claims, now + timedelta(seconds=seconds), now=now)

    def notify_queued(self, job_id: int) -> None:
        """Tasks of the job were put back in the queue by a database change (retry, requeue)."""
        self._published(job_id)

    def reap(self) -> tuple[int, int, set[int]]:
        """Requeue expired leases (or dead-letter them); returns (requeued, dead, job ids)."""
        with self.db.write() as repos:
            requeued, dead, jobs = repos.processing.tasks.reap(self.clock.now())
        for job_id in jobs:
            self._published(job_id)
        return requeued, dead, jobs

    def finished(self, job_id: int) -> None:
        """Release whatever the backend keeps for a job that ended."""
        self._forget_job(job_id)

    def background_duties(self, settings: QueueSettings) -> list[Duty]:
        """Periodic work the backend needs besides claims, which the server runs on one
        replica at a time: none, unless it keeps a dispatch channel of its own to repair."""
        return []

    def close(self) -> None:  # noqa: B027 - nothing to release unless a backend holds a client
        """Release the backend's connections (on shutdown)."""

    # -- hooks --

    @abstractmethod
    def _claim(
        self, job_id: int, limit: int, holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        """Lease up to ``limit`` deliverable tasks of one job."""

    def _delivering(self, job_id: int) -> AbstractContextManager[NewTasks | None]:
        """Around the transaction creating a job's tasks: what to call with the ids of each
        chunk of new tasks as they are inserted (None: insert them in one go)."""
        return nullcontext()

    def _enqueued(self, job_id: int, queued: int) -> None:
        """The job's ``queued`` tasks were created (or found created again) and committed:
        deliver every one not delivered yet."""
        self._published(job_id)

    def _published(self, job_id: int) -> None:  # noqa: B027 - optional hook
        """Tasks of the job went back to the queue (retried or reaped) and need delivering."""

    def _forget_job(self, job_id: int) -> None:  # noqa: B027
        """The job will hand out nothing more."""


def lease_expiry(now: datetime, lease_seconds: int) -> datetime:
    """When a lease taken now ends."""
    return now + timedelta(seconds=lease_seconds)
