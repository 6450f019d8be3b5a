"""SqlTaskQueue: the tasks table is the queue.

Claims use SKIP LOCKED on PostgreSQL and BEGIN IMMEDIATE on SQLite.
"""

from __future__ import annotations

from trapline.domain.processing.jobs import Lease
from trapline.queue.base import TaskQueue, lease_expiry


class SqlTaskQueue(TaskQueue):
    """Claims with one UPDATE … RETURNING over the oldest deliverable tasks of a job."""

    def _claim(
        self, job_id: int, limit: int, holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        now = self.clock.now()
        with self.db.statement() as repos:
            return repos.processing.dispatch.lease(
                job_id,
                oldest=limit,
                holder=holder,
                lease_id=lease_id,
                expires=lease_expiry(now, lease_seconds),
                now=now,
            )
