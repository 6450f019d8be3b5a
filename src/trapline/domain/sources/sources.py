"""Pull sources, their runs and the remote files they have seen: records and the rules of
what a run takes."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class RunStatus(StrEnum):
    """Where a run of a source stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    #: The source could not be listed, or the run passed its time limit.
    FAILED = "failed"
    #: The server running it stopped or died; the next run takes up what it left.
    INTERRUPTED = "interrupted"

    @property
    def final(self) -> bool:
        """Whether the run is over (nothing more changes)."""
        return self not in (RunStatus.QUEUED, RunStatus.RUNNING)


class ItemStatus(StrEnum):
    """What became of one remote file."""

    IMPORTED = "imported"
    #: Its bytes were already an image of the project.
    DUPLICATE = "duplicate"
    #: Never to be taken as it is (too large, not an image); a new version is tried again.
    SKIPPED = "skipped"
    #: Not read this time; tried again on later runs, with backoff, up to a limit.
    FAILED = "failed"


@dataclass(frozen=True)
class PullSource:
    """A place a project's images are fetched from on a schedule."""

    id: int
    project_id: int
    deployment_id: int | None
    name: str
    kind: str
    url: str
    endpoint_url: str | None
    #: Names of the credentials that are set (their values are never handed out).
    credential_names: tuple[str, ...]
    include: tuple[str, ...]
    exclude: tuple[str, ...]
    depth: int
    schedule: str
    max_files: int
    pipeline: str | None
    enabled: bool
    created_by: int | None
    created_at: datetime
    updated_at: datetime
    next_run_at: datetime | None
    #: The credentials, encrypted; only the runner opens them.
    sealed_credentials: str | None = None


@dataclass(frozen=True)
class SourceRun:
    """One run of a source: what it listed and what became of the files it took."""

    id: int
    source_id: int
    status: RunStatus
    trigger: str
    created_at: datetime
    started_at: datetime | None
    ended_at: datetime | None
    listed: int
    new: int
    imported: int
    duplicates: int
    failed: int
    skipped: int
    error: str | None
    job_id: int | None


@dataclass(frozen=True)
class SourceItem:
    """A remote file a source has seen, and what became of it."""

    id: int
    source_id: int
    key: str
    version: str
    size: int | None
    status: ItemStatus
    image_id: int | None
    attempts: int
    error: str | None
    next_attempt_at: datetime | None
    run_id: int | None
    updated_at: datetime


@dataclass(frozen=True)
class KnownFile:
    """What a run needs to know of a file seen before."""

    version: str
    status: ItemStatus
    attempts: int
    next_attempt_at: datetime | None


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how soon a file that failed is tried again."""

    #: Tries of one version of a file before it is left alone (a new version starts again).
    max_attempts: int = 5
    #: Wait before the second try; each later try waits twice as long.
    first_delay: timedelta = timedelta(minutes=5)
    #: Longest wait between tries.
    max_delay: timedelta = timedelta(hours=6)

    def delay(self, attempts: int) -> timedelta:
        """The wait after ``attempts`` failed tries."""
        grown: timedelta = self.first_delay * (2 ** max(0, attempts - 1))
        return min(grown, self.max_delay)


def wanted(
    item: SourceItem | KnownFile | None, version: str, now: datetime, retry: RetryPolicy
) -> bool:
    """Whether a run takes a listed file: never seen, a new version, or a failure due again.

    A file imported, found a duplicate or skipped is taken again only when its version
    changed (re-uploaded content); one that failed is tried again once its backoff has passed,
    up to ``retry.max_attempts`` tries of the same version.
    """
    if item is None or item.version != version:
        return True
    if item.status is not ItemStatus.FAILED:
        return False
    if item.attempts >= retry.max_attempts:
        return False
    return item.next_attempt_at is None or item.next_attempt_at <= now
