"""Jobs and their history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.processing.tasks import OPEN, keep_counts
from trapline.db.run_threshold import JOB_THRESHOLD
from trapline.db.tables import JobEventRow, JobRow, PipelineRow, TaskRow
from trapline.db.types import access_changed, affected
from trapline.domain.processing.jobs import (
    FINAL_JOB_STATUSES,
    DispatchMode,
    Job,
    JobEvent,
    JobParams,
    JobStatus,
)


def to_job(row: JobRow, pipeline: PipelineRow) -> Job:
    """Record from a job row and its pipeline row."""
    return Job(
        id=row.id,
        project_id=row.project_id,
        pipeline_id=row.pipeline_id,
        pipeline_slug=pipeline.slug,
        pipeline_version=pipeline.version,
        name=row.name,
        status=JobStatus(row.status),
        dispatch_mode=DispatchMode(row.dispatch_mode),
        params=JobParams.from_json(row.params),
        selection=row.selection,
        created_by=row.created_by,
        created_at=row.created_at,
        queued_at=row.queued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


class JobRepo:
    """Jobs."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        *,
        project_id: int,
        pipeline_id: int,
        name: str,
        dispatch_mode: DispatchMode,
        params: JobParams,
        selection: dict[str, Any],
        start_now: bool,
        created_by: int | None,
    ) -> Job:
        """Add a job in state ``created``, with its first event."""
        row = JobRow(
            project_id=project_id,
            pipeline_id=pipeline_id,
            name=name,
            status=JobStatus.CREATED.value,
            dispatch_mode=dispatch_mode.value,
            params=params.as_json(),
            selection=selection,
            start_now=start_now,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        self.add_event(row.id, JobStatus.CREATED, "job created")
        job = self.get(row.id)
        assert job is not None
        return job

    def get(self, job_id: int) -> Job | None:
        """The job with this id."""
        found = self.session.execute(self._select().where(JobRow.id == job_id)).first()
        return to_job(*found) if found else None

    def page(
        self,
        *,
        project_ids: Sequence[int] | None,
        statuses: Sequence[JobStatus] = (),
        pipeline_slugs: Sequence[str] = (),
        incomplete_only: bool = False,
        dispatch_mode: DispatchMode | None = None,
        limit: int,
        offset: int,
    ) -> tuple[int, list[Job]]:
        """Jobs matching the filters, newest first; ``project_ids`` None means all projects."""
        query = self._select()
        if project_ids is not None:
            query = query.where(JobRow.project_id.in_(list(project_ids)))
        if statuses:
            query = query.where(JobRow.status.in_([s.value for s in statuses]))
        if pipeline_slugs:
            query = query.where(PipelineRow.slug.in_(list(pipeline_slugs)))
        if incomplete_only:
            query = query.where(JobRow.status.not_in([s.value for s in FINAL_JOB_STATUSES]))
        if dispatch_mode is not None:
            query = query.where(JobRow.dispatch_mode == dispatch_mode.value)
        total = self.session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = self.session.execute(query.order_by(JobRow.id.desc()).limit(limit).offset(offset))
        return total, [to_job(*r) for r in rows]

    def running_for_pipelines(
        self, slugs: Sequence[str], project_ids: Sequence[int] | None
    ) -> list[Job]:
        """Running pull-mode jobs of these pipelines."""
        _, jobs = self.page(
            project_ids=project_ids,
            statuses=[JobStatus.RUNNING],
            pipeline_slugs=slugs,
            dispatch_mode=DispatchMode.ASYNC_API,
            limit=10_000,
            offset=0,
        )
        return jobs

    def pending_dispatch(self, older_than: datetime) -> list[int]:
        """Jobs to start that were left in ``created`` or ``queued`` (a crash mid-enqueue)."""
        return list(
            self.session.scalars(
                select(JobRow.id).where(
                    JobRow.start_now,
                    JobRow.status.in_([JobStatus.CREATED.value, JobStatus.QUEUED.value]),
                    JobRow.created_at < older_than,
                )
            )
        )

    def lock(self, job_id: int) -> None:
        """Hold the job's row until the transaction ends (PostgreSQL; SQLite writers are serial).

        Deciding whether a job is done must see every other transaction's settled tasks: the
        last two results of a job, stored at once, would otherwise each see the other's task
        as still open and neither would end the job.
        """
        # NO KEY UPDATE: it queues deciders one after another but, unlike FOR UPDATE, does not
        # wait for the KEY SHARE locks that inserting analyses (foreign key) holds on the job.
        self.session.execute(
            select(JobRow.id).where(JobRow.id == job_id).with_for_update(key_share=True)
        )

    def running_without_open_tasks(self) -> list[int]:
        """Running jobs none of whose tasks is queued or leased (should have ended)."""
        open_task = (
            select(TaskRow.id).where(TaskRow.job_id == JobRow.id, TaskRow.status.in_(OPEN)).exists()
        )
        return list(
            self.session.scalars(
                select(JobRow.id).where(JobRow.status == JobStatus.RUNNING.value, ~open_task)
            )
        )

    def set_start_now(self, job_id: int) -> None:
        """Mark a job to be started (and restarted after a crash)."""
        self.session.execute(update(JobRow).where(JobRow.id == job_id).values(start_now=True))

    def transition(
        self,
        job_id: int,
        allowed_from: Sequence[JobStatus],
        to: JobStatus,
        message: str,
        **timestamps: datetime | None,
    ) -> bool:
        """Move a job to ``to`` if it is in one of ``allowed_from``; logs an event when it did.

        One guarded UPDATE, so a late or concurrent writer can never revive a finished job. A
        job that finishes keeps its tasks' counts as the transaction commits; one that runs
        again forgets them.
        """
        result = self.session.execute(
            update(JobRow)
            .where(JobRow.id == job_id, JobRow.status.in_([s.value for s in allowed_from]))
            .values(status=to.value, task_counts=None, **timestamps)
        )
        if not affected(result):
            return False
        if to.is_final:
            keep_counts(self.session, job_id)
        self.add_event(job_id, to, message)
        return True

    def add_event(self, job_id: int, status: JobStatus | None, message: str) -> None:
        """Append to the job's history."""
        self.session.add(
            JobEventRow(job_id=job_id, status=status.value if status else None, message=message)
        )
        self.session.flush()

    def events(self, job_id: int, *, limit: int = 500) -> list[JobEvent]:
        """The job's history, oldest first."""
        rows = self.session.scalars(
            select(JobEventRow)
            .where(JobEventRow.job_id == job_id)
            .order_by(JobEventRow.id)
            .limit(limit)
        )
        return [
            JobEvent(
                id=r.id,
                job_id=r.job_id,
                created_at=r.created_at,
                status=JobStatus(r.status) if r.status else None,
                message=r.message,
            )
            for r in rows
        ]

    def thresholds(self, project_id: int) -> dict[int, float]:
        """The threshold each of the project's jobs set for its runs, of those that set one."""
        rows = self.session.execute(
            select(JobRow.id, JOB_THRESHOLD).where(
                JobRow.project_id == project_id, JOB_THRESHOLD.is_not(None)
            )
        )
        return {int(job): float(threshold) for job, threshold in rows}

    def delete(self, job_id: int) -> None:
        """Remove a job with its tasks and events; its analyses stay, detached (by the keys)."""
        access_changed(self.session)
        # The tasks before the job's row, as a result being stored takes them (its tasks, then
        # the job's row for its count): this waits for such a result to commit instead of
        # deadlocking with it. The rest goes by the keys' cascade.
        self.session.execute(delete(TaskRow).where(TaskRow.job_id == job_id))
        self.session.execute(delete(JobRow).where(JobRow.id == job_id))

    @staticmethod
    def _select() -> Select[JobRow, PipelineRow]:
        return select(JobRow, PipelineRow).join(PipelineRow, PipelineRow.id == JobRow.pipeline_id)
