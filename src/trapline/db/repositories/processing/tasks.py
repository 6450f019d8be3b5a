"""Task state in the database: the record of truth every queue backend shares."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import asdict
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    and_,
    func,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trapline.db import statements
from trapline.db.plain import Plain
from trapline.db.repositories.processing.selection import analysed_by, boxes_of, selected
from trapline.db.tables import (
    ImageRow,
    JobEventRow,
    JobRow,
    ProjectRow,
    TaskRow,
)
from trapline.db.tables.jobs import LEASED
from trapline.db.types import access_changed, affected, before_commit, in_utc, lock_row
from trapline.domain.core.paging import Cursor
from trapline.domain.core.records import ImageFilter
from trapline.domain.core.retry import RetryPolicy
from trapline.domain.processing.jobs import Job, TaskCounts, TaskInfo, TaskStatus
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.domain.processing.results import ResultTarget

#: Task states that may still change.
OPEN = (TaskStatus.QUEUED.value, TaskStatus.LEASED.value)
#: Images whose tasks one INSERT makes when the caller delivers new tasks as they are made.
ENQUEUE_CHUNK = 10_000
#: Where a transaction keeps the jobs it finished.
_FINISHED = "trapline.finished_jobs"


def keep_counts(session: Session, job_id: int) -> None:
    """The job has finished: keep how many of its tasks are in each state as the transaction
    commits (after whatever else it does to them, such as canceling the open ones)."""
    before_commit(session, _FINISHED, _keep_finished).add(job_id)


def _keep_finished(session: Session) -> None:
    for job_id in sorted(session.info.pop(_FINISHED, ())):
        counts = TaskRepo(session).count_now(job_id)
        session.execute(
            update(JobRow).where(JobRow.id == job_id).values(task_counts=asdict(counts))
        )


def to_task_info(row: TaskRow | Row[Any]) -> TaskInfo:
    """Record from an ORM row or a plain row of the tasks table."""
    return TaskInfo(
        id=row.id,
        job_id=row.job_id,
        image_id=row.image_id,
        status=TaskStatus(row.status),
        attempt=row.attempt,
        max_attempts=row.max_attempts,
        last_error=row.last_error,
        lease_holder=row.lease_holder,
        updated_at=row.updated_at,
    )


#: Workers a job's page names among those holding its tasks, at most.
MAX_HOLDERS = 20


class TaskRepo:
    """Tasks of jobs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def enqueue(
        self,
        job: Job,
        flt: ImageFilter,
        *,
        collection_id: int | None,
        image_ids: Sequence[int] | None,
        now: datetime,
        created: Callable[[list[int]], None] | None = None,
    ) -> int:
        """Create a queued task per selected image (bulk, idempotent); returns the job's total.

        Images are the project's, narrowed by an explicit collection, a list of ids and a
        filter; unless the job reprocesses, images this pipeline version already analysed
        are skipped; a job over another pipeline's boxes skips images it found none on. With
        ``created``, tasks are made ``ENQUEUE_CHUNK`` images at a time and the ids of each
        chunk's new tasks are passed to it before the next chunk is inserted (and before the
        commit), so it can start delivering them meanwhile.

        The project's and the job's rows are locked first, as the tasks' keys would lock
        them, so that a delete of either in flight is waited for and then makes this a no-op
        (returns 0) instead of breaking a key. The project's also orders this with deleting
        an image of it, which locks it exclusively (ImageRepo.delete): the delete then sees
        and uncounts the tasks made here for its image, or this never sees the image.
        """
        if not (
            lock_row(self.session, ProjectRow.id, job.project_id, exclusive=False)
            and lock_row(self.session, JobRow.id, job.id, exclusive=False)
        ):
            return 0
        images: Select[*tuple[Any, ...]] = select(
            literal(job.id),
            ImageRow.id,
            literal(TaskStatus.QUEUED.value),
            literal(0),
            literal(job.params.max_attempts),
            literal(now, TaskRow.available_at.type),
            literal(now, TaskRow.updated_at.type),
        )
        images = selected(self.session, images, job.project_id, flt, collection_id, image_ids)
        if not job.params.reprocess:
            images = images.where(~analysed_by(job.pipeline_id))
        if job.params.boxes_from is not None:
            images = images.where(boxes_of(job.params.boxes_from))
        if created is None:
            self.session.execute(self._insert(images))
        else:
            chosen = list(self.session.scalars(images.with_only_columns(ImageRow.id)))
            chosen.sort()
            for start in range(0, len(chosen), ENQUEUE_CHUNK):
                part = chosen[start : start + ENQUEUE_CHUNK]
                chunk = images.where(ImageRow.id.between(part[0], part[-1]))
                created(list(self.session.scalars(self._insert(chunk).returning(TaskRow.id))))
        # Before the job runs every task of it is queued: the count of open tasks is all of them.
        return self.recount_open(job.id)

    def _insert(self, images: Select[*tuple[Any, ...]]) -> Any:
        """INSERT of a task per row of ``images``, skipping images the job has a task for."""
        columns = [
            "job_id",
            "image_id",
            "status",
            "attempt",
            "max_attempts",
            "available_at",
            "updated_at",
        ]
        dialect = self.session.get_bind().dialect.name
        factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
        return factory(TaskRow).from_select(columns, images).on_conflict_do_nothing()

    def complete(self, job_id: int, task_ids: Sequence[int], *, now: datetime) -> set[int]:
        """Mark open tasks succeeded; returns the ids that were open (the first result wins)."""
        if not task_ids:
            return set()
        plain = Plain(self.session)
        stamp = plain.time(now)
        rows = plain.rows(statements.COMPLETE, (stamp, stamp, job_id), among=task_ids)
        return {task_id for (task_id,) in rows}

    def infos(self, task_ids: Iterable[int]) -> dict[int, TaskInfo]:
        """These tasks by id."""
        wanted = list(task_ids)
        if not wanted:
            return {}
        rows = self.session.execute(select(*TaskRow.__table__.c).where(TaskRow.id.in_(wanted)))
        return {row.id: to_task_info(row) for row in rows}

    def fail(
        self,
        claim: LeaseClaim,
        error: str,
        policy: RetryPolicy,
        *,
        now: datetime,
        retry: bool = True,
    ) -> TaskStatus | None:
        """Record a failed try of the lease's task: requeue with backoff, or dead-letter.

        Only the current lease may fail its task. Returns the task's new status, or None when
        the lease is no longer current (the task moved on without this worker).
        """
        last_try = not retry or claim.attempt >= policy.max_attempts
        new_status = TaskStatus.FAILED if last_try else TaskStatus.QUEUED
        result = self.session.execute(
            update(TaskRow)
            .where(
                TaskRow.id == claim.task_id,
                TaskRow.job_id == claim.job_id,
                TaskRow.status == TaskStatus.LEASED.value,
                TaskRow.lease_id == claim.lease_id,
                TaskRow.attempt == claim.attempt,
            )
            .values(
                status=new_status.value,
                lease_id=None,
                lease_expires_at=None,
                last_error=error[:4000],
                available_at=now + policy.delay(claim.attempt),
                finished_at=now if last_try else None,
                updated_at=now,
            )
        )
        return new_status if affected(result) else None

    def extend(self, claims: Sequence[LeaseClaim], until: datetime, *, now: datetime) -> set[int]:
        """Push the expiry of current leases to ``until``; returns the task ids extended."""
        extended: set[int] = set()
        for claim in claims:
            result = self.session.execute(
                update(TaskRow)
                .where(
                    TaskRow.id == claim.task_id,
                    TaskRow.status == TaskStatus.LEASED.value,
                    TaskRow.lease_id == claim.lease_id,
                )
                .values(lease_expires_at=until, updated_at=now)
            )
            if affected(result):
                extended.add(claim.task_id)
        return extended

    def cancel_job(self, job_id: int, *, now: datetime) -> int:
        """Cancel every open task of a job."""
        access_changed(self.session)  # its workers are told at once: a job no longer served
        result = self.session.execute(
            update(TaskRow)
            .where(TaskRow.job_id == job_id, TaskRow.status.in_(OPEN))
            .values(
                status=TaskStatus.CANCELED.value,
                lease_id=None,
                lease_expires_at=None,
                finished_at=now,
                updated_at=now,
            )
        )
        canceled = affected(result)
        self.shift_open(job_id, -canceled)
        return canceled

    def retry_failed(self, job_id: int, *, now: datetime) -> int:
        """Give a job's failed tasks a fresh set of tries."""
        result = self.session.execute(
            update(TaskRow)
            .where(TaskRow.job_id == job_id, TaskRow.status == TaskStatus.FAILED.value)
            .values(
                status=TaskStatus.QUEUED.value,
                attempt=0,
                available_at=now,
                finished_at=None,
                updated_at=now,
            )
        )
        requeued = affected(result)
        self.shift_open(job_id, requeued)
        return requeued

    def reap(self, now: datetime, *, limit: int = 10_000) -> tuple[int, int, set[int]]:
        """Requeue tasks whose lease expired, or dead-letter them when out of tries.

        Returns (requeued, dead-lettered, ids of the jobs touched).
        """
        # Spelled as ix_tasks_leased's condition, so SQLite uses that index.
        expired = and_(text(LEASED), TaskRow.lease_expires_at < now)
        jobs = self._note_expired(expired, now, limit)
        dead_by_job = Counter(
            self.session.scalars(
                update(TaskRow)
                .where(expired, TaskRow.attempt >= TaskRow.max_attempts)
                .values(
                    status=TaskStatus.FAILED.value,
                    lease_id=None,
                    lease_expires_at=None,
                    last_error=func.coalesce(TaskRow.last_error, "lease expired on every try"),
                    finished_at=now,
                    updated_at=now,
                )
                .returning(TaskRow.job_id)
            )
        )
        for job_id, dead in dead_by_job.items():
            self.shift_open(job_id, -dead)
        requeued = affected(
            self.session.execute(
                update(TaskRow)
                .where(expired)
                .values(
                    status=TaskStatus.QUEUED.value,
                    lease_id=None,
                    lease_expires_at=None,
                    available_at=now,
                    updated_at=now,
                )
            )
        )
        return requeued, dead_by_job.total(), jobs

    def holdings(self, job_id: int, *, limit: int = MAX_HOLDERS) -> list[tuple[str, int, datetime]]:
        """Who holds the job's leased tasks: (worker, tasks, the first lease's end), those
        holding most first."""
        rows = self.session.execute(
            select(TaskRow.lease_holder, func.count(), func.min(TaskRow.lease_expires_at))
            .where(TaskRow.job_id == job_id, text(LEASED))
            .group_by(TaskRow.lease_holder)
            .order_by(func.count().desc(), TaskRow.lease_holder)
            .limit(limit)
        )
        return [
            (str(holder or "?"), int(n), in_utc(first))
            for holder, n, first in rows
            if first is not None
        ]

    def _note_expired(self, expired: ColumnElement[bool], now: datetime, limit: int) -> set[int]:
        """Say in each job's history whose leases ran out, on how many of its tasks; the jobs
        (up to ``limit`` workers' leases at once)."""
        rows = self.session.execute(
            select(TaskRow.job_id, TaskRow.lease_holder, func.count())
            .where(expired)
            .group_by(TaskRow.job_id, TaskRow.lease_holder)
            .order_by(TaskRow.job_id, TaskRow.lease_holder)
            .limit(limit)
        ).all()
        for job_id, holder, n in rows:
            self.session.add(
                JobEventRow(
                    job_id=job_id,
                    status=None,
                    created_at=now,
                    message=f"{n} task{'s' if n > 1 else ''} held by {holder or 'a worker'} went "
                    "back to the queue: the worker said nothing before its lease ran out",
                )
            )
        return {int(job_id) for job_id, _, _ in rows}

    def counts(self, job_id: int) -> TaskCounts:
        """How many of the job's tasks are in each state: as kept when it finished, else
        counted."""
        kept = self.session.scalar(select(JobRow.task_counts).where(JobRow.id == job_id))
        return TaskCounts(**kept) if kept is not None else self.count_now(job_id)

    def count_now(self, job_id: int) -> TaskCounts:
        """How many of the job's tasks are in each state, counted."""
        rows = self.session.execute(
            select(TaskRow.status, func.count())
            .where(TaskRow.job_id == job_id)
            .group_by(TaskRow.status)
        )
        return TaskCounts(**{status: int(n) for status, n in rows})

    def shift_open(self, job_id: int, delta: int) -> int | None:
        """Add ``delta`` to the job's count of open tasks; returns the new count (None: no
        such job). The update holds the job's row until the transaction ends."""
        rows = Plain(self.session).rows(statements.SHIFT_OPEN, (delta, job_id))
        return int(rows[0][0]) if rows else None

    def recount_open(self, job_id: int) -> int:
        """Set the job's count of open tasks from the tasks table; returns it."""
        open_tasks = (
            select(func.count())
            .where(TaskRow.job_id == JobRow.id, TaskRow.status.in_(OPEN))
            .scalar_subquery()
        )
        count = self.session.scalar(
            update(JobRow)
            .where(JobRow.id == job_id)
            .values(open_tasks=open_tasks)
            .returning(JobRow.open_tasks)
        )
        return count or 0

    def has_open(self, job_id: int) -> bool:
        """Whether any task of the job is queued or leased."""
        return (
            self.session.scalar(
                select(TaskRow.id)
                .where(TaskRow.job_id == job_id, TaskRow.status.in_(OPEN))
                .limit(1)
            )
            is not None
        )

    def page(
        self,
        job_id: int,
        status: TaskStatus | None,
        *,
        limit: int,
        offset: int = 0,
        cursor: Cursor | None = None,
    ) -> tuple[int, list[TaskInfo], bool]:
        """A job's tasks by id (of one status): how many, the page from ``offset`` or next to
        ``cursor`` (an id range, as deep as it goes), and whether more follow that way."""
        where = [TaskRow.job_id == job_id]
        if status is not None:
            where.append(TaskRow.status == status.value)
        total = self.session.scalar(select(func.count()).where(*where)) or 0
        back = cursor is not None and cursor.backwards
        if cursor is not None:
            where.append(TaskRow.id < cursor.id if back else TaskRow.id > cursor.id)
        query = select(TaskRow).where(*where).order_by(TaskRow.id.desc() if back else TaskRow.id)
        rows = list(self.session.scalars(query.limit(limit + 1).offset(offset)))
        found = rows[:limit][::-1] if back else rows[:limit]
        return total, [to_task_info(r) for r in found], len(rows) > limit

    def targets(self, task_ids: Collection[int]) -> dict[int, ResultTarget]:
        """What results for these tasks are checked against, by task id (those that exist)."""
        if not task_ids:
            return {}
        rows = Plain(self.session).rows(statements.RESULT_TARGETS, among=list(task_ids))
        return {row[0]: ResultTarget(*row) for row in rows}
