"""SqlTaskQueue: the tasks table is the queue.

Claims use SKIP LOCKED on PostgreSQL and BEGIN IMMEDIATE on SQLite.
"""

from __future__ import annotations

from trapline.db.plain import Plain
from trapline.db.types import utcnow
from trapline.domain.jobs import Lease
from trapline.queue.base import TaskQueue, lease_expiry


class SqlTaskQueue(TaskQueue):
    """Claims with one UPDATE … RETURNING over the oldest deliverable tasks of a job."""

    def _claim(
        self, job_id: int, limit: int, holder: str, lease_seconds: int, lease_id: str
    ) -> list[Lease]:
        now = utcnow()
        expires = lease_expiry(now, lease_seconds)
        # On PostgreSQL concurrent claimers skip each other's locked rows instead of queueing;
        # SQLite has no FOR UPDATE, and its write transaction (BEGIN IMMEDIATE) serialises them.
        with self.db.statement() as repos:
            plain = Plain(repos.session)
            rows = plain.rows(
                _CLAIM.format(lock=" FOR UPDATE SKIP LOCKED" if plain.postgres else ""),
                (
                    lease_id,
                    holder[:512],
                    plain.time(expires),
                    plain.time(now),
                    job_id,
                    plain.time(now),
                    limit,
                ),
            )
        return sorted(
            (
                Lease(
                    task_id=task_id,
                    job_id=job_id,
                    image_id=image_id,
                    attempt=attempt,
                    lease_id=lease_id,
                    expires_at=expires,
                    storage_key=storage_key,
                )
                for task_id, image_id, attempt, storage_key in rows
            ),
            key=lambda lease: lease.task_id,
        )


#: One claim: the oldest deliverable tasks of a job leased, with their images' storage keys.
_CLAIM = """
UPDATE tasks SET status = 'leased', attempt = attempt + 1, lease_id = ?, lease_holder = ?,
    lease_expires_at = ?, updated_at = ?
WHERE id IN (
    SELECT id FROM tasks WHERE job_id = ? AND status = 'queued' AND available_at <= ?
    ORDER BY available_at, id LIMIT ?{lock}
)
RETURNING id, image_id, attempt, (SELECT storage_key FROM images WHERE images.id = tasks.image_id)
"""
