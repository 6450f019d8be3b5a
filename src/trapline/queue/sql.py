"""SqlTaskQueue: the tasks table is the queue.

Claims use SKIP LOCKED on PostgreSQL and BEGIN IMMEDIATE on SQLite.
"""

from __future__ import annotations

from sqlalchemy import select, update

from trapline.db.tables import TaskRow
from trapline.db.types import utcnow
from trapline.domain.jobs import Lease, TaskStatus
from trapline.queue.base import TaskQueue, lease_expiry


class SqlTaskQueue(TaskQueue):
    """Claims with one UPDATE … RETURNING over the oldest deliverable tasks of a job."""

    scheme = "sql"

    def _claim(
        self, job_id: int, limit: int, holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        now = utcnow()
        expires = lease_expiry(now, lease_seconds)
        # On PostgreSQL concurrent claimers skip each other's locked rows instead of queueing;
        # SQLite ignores FOR UPDATE, and its write transaction (BEGIN IMMEDIATE) serialises them.
        candidates = (
            select(TaskRow.id)
            .where(
                TaskRow.job_id == job_id,
                TaskRow.status == TaskStatus.QUEUED.value,
                TaskRow.available_at <= now,
            )
            .order_by(TaskRow.available_at, TaskRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        statement = (
            update(TaskRow)
            .where(TaskRow.id.in_(candidates.scalar_subquery()))
            .values(
                status=TaskStatus.LEASED.value,
                attempt=TaskRow.attempt + 1,
                lease_id=lease_id,
                lease_holder=holder[:512],
                lease_expires_at=expires,
                updated_at=now,
            )
            .returning(TaskRow.id, TaskRow.image_id, TaskRow.attempt)
        )
        with self.db.write() as repos:
            rows = repos.session.execute(statement).all()
        return sorted(
            (
                Lease(
                    task_id=task_id,
                    job_id=job_id,
                    image_id=image_id,
                    attempt=attempt,
                    lease_id=lease_id,
                    expires_at=expires,
                )
                for task_id, image_id, attempt in rows
            ),
            key=lambda lease: lease.task_id,
        )
