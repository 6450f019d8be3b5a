"""Task rows as a dispatch channel of its own (NATS JetStream) needs them.

The tasks table stays the record of truth: a message from the channel is only an offer, and
these statements decide what it is worth (a lease, a wait for backoff, or nothing).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from operator import attrgetter
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from trapline.db import statements
from trapline.db.plain import Plain, array_literal
from trapline.db.tables import JobRow, TaskRow
from trapline.domain.processing.jobs import JobStatus, Lease, TaskStatus

#: Job states whose queued tasks must be deliverable.
DISPATCHING = (JobStatus.QUEUED.value, JobStatus.RUNNING.value)


@dataclass(frozen=True)
class TaskState:
    """What a message for a task is judged by."""

    job_id: int
    status: TaskStatus
    attempt: int
    available_at: datetime

    def wants(self, job_id: int, attempt: int) -> bool:
        """Whether a message offering this try of the task for this job is still wanted."""
        return (
            self.job_id == job_id and self.status is TaskStatus.QUEUED and self.attempt == attempt
        )


class DispatchRepo:
    """Queries of the dispatch channel: what to publish, and what a delivered message is worth."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lease(
        self,
        job_id: int,
        *,
        offers: Mapping[int, int] | None = None,
        oldest: int = 0,
        holder: str,
        lease_id: str,
        expires: datetime,
        now: datetime,
    ) -> list[Lease]:
        """Lease tasks of a job, by task id: the ``offers`` (task id → the attempt a message
        carries) still queued at that attempt and past their backoff, or else the job's
        ``oldest`` deliverable tasks (the SQL queue)."""
        plain = Plain(self.session)
        stamp = plain.time(now)
        offered: tuple[Any, ...]
        if offers is None:
            lock = " FOR UPDATE SKIP LOCKED" if plain.postgres else ""
            sql = statements.OLDEST_QUEUED.format(lock=lock)
            offered = (job_id, stamp, oldest)
        elif not offers:
            return []
        elif plain.postgres:
            sql = statements.OFFERED_POSTGRES
            offered = (array_literal(offers), array_literal(offers.values()))
        else:
            sql = statements.OFFERED_SQLITE.format(values=", ".join(["(?, ?)"] * len(offers)))
            offered = tuple(number for pair in offers.items() for number in pair)
        rows = plain.rows(
            statements.CLAIM.format(offered=sql),
            (*offered, lease_id, holder[:512], plain.time(expires), stamp, job_id, stamp),
        )
        return sorted(
            (
                Lease(task_id, job_id, image_id, attempt, lease_id, expires, storage_key)
                for task_id, image_id, attempt, storage_key in rows
            ),
            key=attrgetter("task_id"),
        )

    def states(self, task_ids: Iterable[int]) -> dict[int, TaskState]:
        """The state of each of these tasks that exists, by id (a message is judged by it: its
        task must still be of the job, queued, at the message's attempt)."""
        wanted = list(task_ids)
        if not wanted:
            return {}
        rows = self.session.execute(
            select(
                TaskRow.id, TaskRow.job_id, TaskRow.status, TaskRow.attempt, TaskRow.available_at
            ).where(TaskRow.id.in_(wanted))
        )
        return {
            task_id: TaskState(job_id, TaskStatus(status), attempt, available_at)
            for task_id, job_id, status, attempt, available_at in rows
        }

    def queued(self, job_id: int, *, after: int = 0, limit: int) -> list[tuple[int, int]]:
        """(task id, attempt) of the job's queued tasks with ids above ``after``, by id."""
        rows = self.session.execute(
            select(TaskRow.id, TaskRow.attempt)
            .where(
                TaskRow.job_id == job_id,
                TaskRow.status == TaskStatus.QUEUED.value,
                TaskRow.id > after,
            )
            .order_by(TaskRow.id)
            .limit(limit)
        )
        return [(task_id, attempt) for task_id, attempt in rows]

    def requeued_since(self, job_id: int, since: datetime, *, limit: int) -> list[tuple[int, int]]:
        """(task id, attempt) of the job's tasks put back in the queue since ``since``.

        A task back in the queue was handed out before (attempt > 0) or failed before (a retry
        of failed tasks starts again at attempt 0 but keeps its last error); tasks never handed
        out are left alone, so a big job that just started is not published twice.
        """
        rows = self.session.execute(
            select(TaskRow.id, TaskRow.attempt)
            .where(
                TaskRow.job_id == job_id,
                TaskRow.status == TaskStatus.QUEUED.value,
                TaskRow.updated_at >= since,
                or_(TaskRow.attempt > 0, TaskRow.last_error.is_not(None)),
            )
            .order_by(TaskRow.id)
            .limit(limit)
        )
        return [(task_id, attempt) for task_id, attempt in rows]

    def queued_count(self, job_id: int) -> int:
        """How many of the job's tasks are queued."""
        return (
            self.session.scalar(
                select(func.count()).where(
                    TaskRow.job_id == job_id, TaskRow.status == TaskStatus.QUEUED.value
                )
            )
            or 0
        )

    def dispatching_jobs(self, *, limit: int) -> list[int]:
        """Jobs whose queued tasks must be deliverable, oldest first."""
        return list(
            self.session.scalars(
                select(JobRow.id)
                .where(JobRow.status.in_(DISPATCHING))
                .order_by(JobRow.id)
                .limit(limit)
            )
        )

    def ended_since(self, since: datetime, *, limit: int) -> list[int]:
        """Jobs that reached a final state since ``since``."""
        return list(
            self.session.scalars(
                select(JobRow.id)
                .where(JobRow.finished_at >= since, JobRow.status.not_in(DISPATCHING))
                .order_by(JobRow.id)
                .limit(limit)
            )
        )

    def not_dispatching(self, job_ids: Iterable[int]) -> set[int]:
        """Those of these jobs that hand out nothing any more (ended, or deleted)."""
        wanted = set(job_ids)
        if not wanted:
            return set()
        live = self.session.scalars(
            select(JobRow.id).where(JobRow.id.in_(wanted), JobRow.status.in_(DISPATCHING))
        )
        return wanted - set(live)
