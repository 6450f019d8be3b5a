"""Jobs and tasks: their states, parameters and how a job's outcome is decided."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from trapline.domain.core.retry import RetryPolicy


class JobStatus(StrEnum):
    """Where a job is in its life: created → queued → running → a final state."""

    CREATED = "created"
    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    COMPLETED_WITH_ERRORS = "completed_with_errors"
    FAILED = "failed"
    CANCELED = "canceled"

    @property
    def is_final(self) -> bool:
        """Whether the job can change no more."""
        return self in FINAL_JOB_STATUSES


FINAL_JOB_STATUSES = frozenset(
    {
        JobStatus.SUCCEEDED,
        JobStatus.COMPLETED_WITH_ERRORS,
        JobStatus.FAILED,
        JobStatus.CANCELED,
    }
)
#: States from which a job may still be canceled.
CANCELABLE_JOB_STATUSES = frozenset({JobStatus.CREATED, JobStatus.QUEUED, JobStatus.RUNNING})


class TaskStatus(StrEnum):
    """One image of one job: queued → leased → succeeded, or failed, or canceled."""

    QUEUED = "queued"
    LEASED = "leased"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"


class DispatchMode(StrEnum):
    """How tasks reach workers: pulled over HTTP, or pushed to a synchronous service."""

    ASYNC_API = "async_api"
    SYNC_API = "sync_api"
    #: Run by the platform itself: a promoted refit, which reads the features stored with the
    #: boxes it classifies (never a job a person or worker asks for this way).
    INTERNAL = "internal"


@dataclass(frozen=True)
class JobParams:
    """A job's parameters, frozen into the job when it is created."""

    max_attempts: int = 3
    lease_seconds: int = 300
    failure_threshold: float = 0.5
    reprocess: bool = False
    #: This run's own threshold, for a pipeline that declares one (its default threshold):
    #: the confidence under which the run's detections are not counted. None: the pipeline's.
    threshold: float | None = None
    #: A job over another pipeline's boxes: the slug of the pipeline whose current boxes of
    #: each photo the job's pipeline classifies, without detecting. None: it detects.
    boxes_from: str | None = None

    @property
    def retry(self) -> RetryPolicy:
        """The retry policy these parameters give."""
        return RetryPolicy(max_attempts=self.max_attempts)

    def as_json(self) -> dict[str, Any]:
        """For storing with the job; the run's settings only when it has some."""
        stored: dict[str, Any] = {
            "max_attempts": self.max_attempts,
            "lease_seconds": self.lease_seconds,
            "failure_threshold": self.failure_threshold,
            "reprocess": self.reprocess,
        }
        if self.threshold is not None:
            stored["settings"] = {"threshold": self.threshold}
        if self.boxes_from is not None:
            stored["boxes_from"] = self.boxes_from
        return stored

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JobParams:
        """Inverse of ``as_json``; missing keys take defaults."""
        known = {
            k: data[k]
            for k in ("max_attempts", "lease_seconds", "failure_threshold", "reprocess")
            if k in data
        }
        boxes_from = data.get("boxes_from")
        return cls(
            **known,
            threshold=job_threshold(data),
            boxes_from=boxes_from if isinstance(boxes_from, str) else None,
        )


def job_threshold(params: dict[str, Any] | None) -> float | None:
    """The run's own threshold in a job's stored ``params``, if it has one."""
    settings = (params or {}).get("settings")
    value = settings.get("threshold") if isinstance(settings, dict) else None
    return float(value) if isinstance(value, int | float) else None


@dataclass(frozen=True)
class TaskCounts:
    """How many of a job's tasks are in each state."""

    queued: int = 0
    leased: int = 0
    succeeded: int = 0
    failed: int = 0
    canceled: int = 0

    @property
    def total(self) -> int:
        """All tasks of the job."""
        return self.queued + self.leased + self.succeeded + self.failed + self.canceled

    @property
    def open(self) -> int:
        """Tasks not yet in a final state."""
        return self.queued + self.leased

    @property
    def progress(self) -> float:
        """Share of tasks in a final state, 0 to 1 (0 while there are none)."""
        return 0.0 if self.total == 0 else (self.total - self.open) / self.total


def outcome(counts: TaskCounts, failure_threshold: float) -> JobStatus:
    """The final status of a job none of whose tasks is open any more."""
    processed = counts.succeeded + counts.failed
    if processed and counts.failed / processed > failure_threshold:
        return JobStatus.FAILED
    if counts.failed:
        return JobStatus.COMPLETED_WITH_ERRORS
    return JobStatus.SUCCEEDED


@dataclass(frozen=True)
class Job:
    """A pipeline run over a set of images."""

    id: int
    project_id: int
    pipeline_id: int
    pipeline_slug: str
    pipeline_version: int
    name: str
    status: JobStatus
    dispatch_mode: DispatchMode
    params: JobParams
    selection: dict[str, Any]
    created_by: int | None
    created_at: datetime
    queued_at: datetime | None
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class JobEvent:
    """One entry of a job's history."""

    id: int
    job_id: int
    created_at: datetime
    status: JobStatus | None
    message: str


@dataclass(frozen=True)
class Lease:
    """A task handed to a worker: who holds it, which try it is, until when."""

    task_id: int
    job_id: int
    image_id: int
    attempt: int
    lease_id: str
    expires_at: datetime
    #: Where the task's image is stored (read with the lease, so handing out needs no read).
    storage_key: str


@dataclass(frozen=True)
class Holding:
    """The tasks of a job one worker holds now: how many, when the first of them goes back
    to the queue if it says nothing (its lease runs out), and when it was last heard from."""

    worker: str
    tasks: int
    free_at: datetime
    last_seen_at: datetime | None


@dataclass(frozen=True)
class TaskInfo:
    """A task as listed for users (failed tasks with their errors, say)."""

    id: int
    job_id: int
    image_id: int
    status: TaskStatus
    attempt: int
    max_attempts: int
    last_error: str | None
    lease_holder: str | None
    updated_at: datetime
