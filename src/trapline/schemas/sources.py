"""Request and response bodies of pull sources and their runs."""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, StrictBool, StringConstraints

from trapline.domain.sources.sources import PullSource, SourceItem, SourceRun
from trapline.protocol.base import NOT_TEXT, ONE_LINE, Slug
from trapline.schemas.common import BodyId, Input, Instant, Name, Patch
from trapline.sources import KINDS

#: A source's URL, or an S3 endpoint's.
SourceUrl = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=ONE_LINE)]
#: A credential's name (``username``, ``password``, ``authorization``, ``access_key_id``,
#: ``secret_access_key``) and its value.
CredentialName = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=ONE_LINE)]
CredentialValue = Annotated[str, StringConstraints(max_length=4096, pattern=ONE_LINE)]
Credentials = Annotated[
    dict[CredentialName, CredentialValue],
    Field(
        max_length=8,
        description="http_directory: username and password (HTTP Basic) or authorization (a "
        "whole Authorization header value); s3: access_key_id and secret_access_key; ftp: "
        "username and password. Stored encrypted, never returned.",
    ),
]
Glob = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]
Globs = Annotated[list[Glob], Field(max_length=50)]
Depth = Annotated[int, Field(ge=0, le=10), NOT_TEXT]
MaxFiles = Annotated[int, Field(ge=1, le=10_000), NOT_TEXT]
Schedule = Annotated[
    str,
    StringConstraints(min_length=1, max_length=100, pattern=ONE_LINE),
    Field(description="cron expression, five fields, UTC ('0 * * * *': hourly at minute 0)"),
]
Kind = Annotated[
    str,
    StringConstraints(min_length=1, max_length=32, pattern=ONE_LINE),
    Field(description=" | ".join(sorted(KINDS)), json_schema_extra={"enum": sorted(KINDS)}),
]


class SourceIn(Input):
    name: Name
    kind: Kind
    url: SourceUrl = Field(
        description="http(s)://… folder listing, s3://bucket/prefix, ftp(s)://host/folder, or a "
        "folder on the server (/srv/traps/…) under TRAPLINE_SOURCES_LOCAL_ROOTS"
    )
    endpoint_url: SourceUrl | None = Field(None, description="s3: MinIO or another endpoint")
    deployment_id: BodyId | None = None
    credentials: Credentials | None = None
    include: Globs | None = Field(None, description="default: common image extensions")
    exclude: Globs = Field(default_factory=list)
    depth: Depth = 0
    schedule: Schedule = "0 * * * *"
    max_files: MaxFiles = 1000
    pipeline: Slug | None = Field(None, description="process each run's new images with it")
    enabled: StrictBool = True


class SourcePatch(Patch):
    required_fields: ClassVar[tuple[str, ...]] = (
        "name", "kind", "url", "include", "exclude", "depth", "schedule", "max_files", "enabled",
    )  # fmt: skip

    name: Name | None = None
    kind: Kind | None = None
    url: SourceUrl | None = None
    endpoint_url: SourceUrl | None = None
    deployment_id: BodyId | None = None
    credentials: Credentials | None = Field(
        None, description="replaces every credential of the source; null removes them"
    )
    include: Globs | None = None
    exclude: Globs | None = None
    depth: Depth | None = None
    schedule: Schedule | None = None
    max_files: MaxFiles | None = None
    pipeline: Slug | None = None
    enabled: StrictBool | None = None


class SourceOut(BaseModel):
    id: int
    project_id: int
    deployment_id: int | None
    name: str
    kind: str
    url: str
    endpoint_url: str | None
    credentials: dict[str, bool] = Field(description="which credentials are set (never values)")
    include: list[str]
    exclude: list[str]
    depth: int
    schedule: str
    max_files: int
    pipeline: str | None
    enabled: bool
    next_run_at: Instant | None
    created_at: Instant
    updated_at: Instant

    @classmethod
    def of(cls, s: PullSource) -> SourceOut:
        names = sorted(KINDS[s.kind].credentials) if s.kind in KINDS else []
        return cls(
            id=s.id,
            project_id=s.project_id,
            deployment_id=s.deployment_id,
            name=s.name,
            kind=s.kind,
            url=s.url,
            endpoint_url=s.endpoint_url,
            credentials={name: name in s.credential_names for name in names},
            include=list(s.include),
            exclude=list(s.exclude),
            depth=s.depth,
            schedule=s.schedule,
            max_files=s.max_files,
            pipeline=s.pipeline,
            enabled=s.enabled,
            next_run_at=s.next_run_at,
            created_at=s.created_at,
            updated_at=s.updated_at,
        )


class RunOut(BaseModel):
    id: int
    source_id: int
    status: str = Field(description="queued | running | succeeded | failed | interrupted")
    trigger: str = Field(description="schedule | manual")
    created_at: Instant
    started_at: Instant | None
    ended_at: Instant | None
    listed: int = Field(description="files the listing showed that pass the globs")
    new: int = Field(description="of those, new, changed, or due again after a failure")
    imported: int
    duplicates: int = Field(description="new files whose bytes the project already had")
    failed: int = Field(description="tried again on later runs, with backoff")
    skipped: int = Field(description="too large or not an image; taken again if they change")
    error: str | None
    job_id: int | None = Field(description="the job processing the run's new images, if any")

    @classmethod
    def of(cls, r: SourceRun) -> RunOut:
        return cls(
            id=r.id,
            source_id=r.source_id,
            status=r.status.value,
            trigger=r.trigger,
            created_at=r.created_at,
            started_at=r.started_at,
            ended_at=r.ended_at,
            listed=r.listed,
            new=r.new,
            imported=r.imported,
            duplicates=r.duplicates,
            failed=r.failed,
            skipped=r.skipped,
            error=r.error,
            job_id=r.job_id,
        )


class SourceFileOut(BaseModel):
    key: str
    version: str
    size: int | None
    status: str
    image_id: int | None
    attempts: int
    error: str | None
    next_attempt_at: Instant | None
    updated_at: Instant

    @classmethod
    def of(cls, i: SourceItem) -> SourceFileOut:
        return cls(
            key=i.key,
            version=i.version,
            size=i.size,
            status=i.status.value,
            image_id=i.image_id,
            attempts=i.attempts,
            error=i.error,
            next_attempt_at=i.next_attempt_at,
            updated_at=i.updated_at,
        )
