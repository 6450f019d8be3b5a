"""Tables of pull sources, their runs and every remote file they have seen."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class PullSourceRow(Base):
    __tablename__ = "pull_sources"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(String(2048))
    endpoint_url: Mapped[str | None] = mapped_column(String(2048), nullable=True)
    #: The credentials, encrypted (Fernet, key derived from the secret key); never returned.
    credentials: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Names of the credentials set, shown in reads instead of their values.
    credential_names: Mapped[list[str]] = mapped_column(JSON, default=list)
    include: Mapped[list[str]] = mapped_column(JSON)
    exclude: Mapped[list[str]] = mapped_column(JSON)
    depth: Mapped[int] = mapped_column(SmallInteger, default=0)
    schedule: Mapped[str] = mapped_column(String(100))
    max_files: Mapped[int] = mapped_column(Integer)
    #: Slug of the pipeline new images go through, if any.
    pipeline: Mapped[str | None] = mapped_column(String(200), nullable=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the schedule next asks for a run.
    next_run_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The run lease: which server process runs the source now, until when.
    lease_holder: Mapped[str | None] = mapped_column(String(255), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (Index("ix_pull_sources_due", "enabled", "next_run_at"),)


class PullSourceRunRow(Base):
    __tablename__ = "pull_source_runs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("pull_sources.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))
    #: ``schedule`` or ``manual``.
    trigger: Mapped[str] = mapped_column(String(16))
    holder: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    listed: Mapped[int] = mapped_column(BigInteger, default=0)
    new: Mapped[int] = mapped_column(BigInteger, default=0)
    imported: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates: Mapped[int] = mapped_column(BigInteger, default=0)
    failed: Mapped[int] = mapped_column(BigInteger, default=0)
    skipped: Mapped[int] = mapped_column(BigInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The job the run's new images went to, when the source has a pipeline.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True
    )

    __table_args__ = (
        Index("ix_pull_source_runs_source_id_id", "source_id", "id"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')",
            name="status",
        ),
    )


class PullSourceItemRow(Base):
    __tablename__ = "pull_source_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("pull_sources.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(1024))
    #: What the listing said of the file's version when it was last taken.
    version: Mapped[str] = mapped_column(String(255))
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    image_id: Mapped[int | None] = mapped_column(
        ForeignKey("images.id", ondelete="SET NULL"), nullable=True, index=True
    )
    attempts: Mapped[int] = mapped_column(SmallInteger, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: A failed file is not tried again before this instant (backoff).
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    run_id: Mapped[int | None] = mapped_column(
        ForeignKey("pull_source_runs.id", ondelete="SET NULL"), nullable=True
    )
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("uq_pull_source_items_source_key", "source_id", "key", unique=True),
        Index("ix_pull_source_items_run_status", "run_id", "status"),
        CheckConstraint("status IN ('imported', 'duplicate', 'skipped', 'failed')", name="status"),
    )


__all__ = ["PullSourceItemRow", "PullSourceRow", "PullSourceRunRow"]
