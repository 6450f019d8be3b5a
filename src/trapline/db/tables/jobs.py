"""Tables of jobs, their tasks and events, analyses and annotations, and duty leases."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow

#: Conditions of the tasks table's partial indexes.
LEASED = "status = 'leased'"
FINISHED = "finished_at IS NOT NULL"
#: Condition of the annotations' parent index.
HAS_PARENT = "parent_id IS NOT NULL"
#: Annotations that have a digest (the callback API's).
HAS_DIGEST = "digest IS NOT NULL"
#: Condition of the index of analyses not yet completed or failed.
OPEN_ANALYSIS = "status IN ('queued', 'processing')"


class JobRow(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    pipeline_id: Mapped[int] = mapped_column(ForeignKey("pipelines.id", ondelete="RESTRICT"))
    name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(32))
    dispatch_mode: Mapped[str] = mapped_column(String(16))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Which images: {"collection_id"} | {"image_ids"} | {"deployment_id"} | {} (whole project).
    selection: Mapped[dict[str, Any]] = mapped_column(JSON)
    start_now: Mapped[bool] = mapped_column(default=True)
    #: How many of the job's tasks are queued or leased: every change of a task's state in or
    #: out of those keeps it (TaskRepo). It tells a result whether its job may be done.
    open_tasks: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: How many of a finished job's tasks ended in each state, counted as the transaction that
    #: finished it commits (None while it runs, or from before they were kept): its pages do
    #: not count its tasks again each time.
    task_counts: Mapped[dict[str, int] | None] = mapped_column(
        JSON(none_as_null=True), nullable=True
    )
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_jobs_project_id_id", "project_id", "id"),
        Index("ix_jobs_status_pipeline", "status", "pipeline_id"),
    )


class JobEventRow(Base):
    __tablename__ = "job_events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    message: Mapped[str] = mapped_column(Text)


class TaskRow(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    # A task goes with its job or its image, by the database's own cascade (decision 017).
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))
    #: Deliveries so far; the lease of delivery n carries attempt n.
    attempt: Mapped[int] = mapped_column(SmallInteger, default=0)
    max_attempts: Mapped[int] = mapped_column(SmallInteger)
    lease_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    lease_holder: Mapped[str | None] = mapped_column(String(512), nullable=True)
    lease_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Not handed out before this instant (retry backoff).
    available_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("uq_tasks_job_image", "job_id", "image_id", unique=True),
        Index("ix_tasks_claim", "job_id", "status", "available_at", "id"),
        # Partial: a task is in these only while leased, or once finished, so the two updates
        # of its life (queued → leased → done) each write one index entry fewer. Queries must
        # spell the condition as it is here for SQLite to use them.
        Index(
            "ix_tasks_leased",
            "lease_expires_at",
            sqlite_where=text(LEASED),
            postgresql_where=text(LEASED),
        ),
        Index(
            "ix_tasks_job_finished",
            "job_id",
            "finished_at",
            sqlite_where=text(FINISHED),
            postgresql_where=text(FINISHED),
        ),
        CheckConstraint(
            "status IN ('queued', 'leased', 'succeeded', 'failed', 'canceled')", name="status"
        ),
    )


class AnalysisRow(Base):
    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: The image's project, kept here for listings; the image's key takes the row with it.
    project_id: Mapped[int] = mapped_column(IdType)
    #: An analysis goes with its image. Indexed by ix_analyses_image_pipeline, whose first
    #: column it is.
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"))
    #: Results outlive the job and the task that made them: deleting those detaches them.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="SET NULL"), nullable=True, index=True
    )
    #: The task whose result this is; unique, so a task's result is stored once.
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="SET NULL"), nullable=True, unique=True
    )
    #: Pipelines are never deleted (jobs refer to them RESTRICT too).
    pipeline_id: Mapped[int | None] = mapped_column(
        ForeignKey("pipelines.id", ondelete="RESTRICT"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    worker: Mapped[str | None] = mapped_column(String(512), nullable=True)
    total_time: Mapped[float | None] = mapped_column(Float, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: Why a completed analysis found nothing, when its pipeline said (e.g. "not a light-trap
    #: photo"); at most ``domain.results.MAX_NOTE`` characters.
    note: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    # Analyses an external pipeline drives through the callback API (source "callback").
    #: The model the pipeline ran, as it names it.
    model_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    model_version: Mapped[str | None] = mapped_column(String(255), nullable=True)
    parameters: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: Who created the analysis; a record only (ids are never reused), so no key.
    requested_by_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    #: When the status last changed; the stuck-analysis duty measures from it.
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        Index("ix_analyses_image_pipeline", "image_id", "pipeline_id", "status"),
        # How many of a project's photos a version analysed (the job form's note) counts
        # this index's range, not the project's photos one by one.
        Index("ix_analyses_pipeline_project", "pipeline_id", "project_id", "status", "image_id"),
        # Partial: only analyses still open (callback ones) are looked for by age.
        Index(
            "ix_analyses_open_updated_at",
            "updated_at",
            sqlite_where=text(OPEN_ANALYSIS),
            postgresql_where=text(OPEN_ANALYSIS),
        ),
    )


class AnnotationRow(Base):
    __tablename__ = "annotations"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: An annotation goes with its analysis, whose project and image it repeats below.
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    project_id: Mapped[int] = mapped_column(IdType)
    image_id: Mapped[int] = mapped_column(IdType, index=True)
    type: Mapped[str] = mapped_column(String(32))
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)
    x1: Mapped[float | None] = mapped_column(Float, nullable=True)
    y1: Mapped[float | None] = mapped_column(Float, nullable=True)
    x2: Mapped[float | None] = mapped_column(Float, nullable=True)
    y2: Mapped[float | None] = mapped_column(Float, nullable=True)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: A classification's feature vector, packed (``domain/processing/features.py``); rows
    #: stored before it came have theirs in ``data["features"]``.
    features: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    storage_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    #: SHA-256 of the annotation's canonical JSON (callback annotations): unique per
    #: analysis, so the same annotation posted twice, by any replica, is stored once.
    digest: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ordering: Mapped[int] = mapped_column(Integer, default=0)
    #: Children are read with their whole analysis; ix_annotations_parent_id serves only the
    #: key's cascade, which looks a deleted annotation's children up by it.
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), nullable=True
    )
    #: Algorithms are never deleted (pipeline links refer to them RESTRICT too).
    algorithm_id: Mapped[int | None] = mapped_column(
        ForeignKey("algorithms.id", ondelete="RESTRICT"), nullable=True
    )

    __table_args__ = (
        Index("ix_annotations_project_type_label", "project_id", "type", "label"),
        Index("ix_annotations_project_id_id", "project_id", "id"),
        # The review queue walks a project's annotations down it, surest first.
        Index("ix_annotations_project_id_confidence", "project_id", "confidence", "id"),
        # Partial: only callback annotations have a digest; a worker's would each cost an entry.
        Index(
            "uq_annotations_analysis_id_digest",
            "analysis_id",
            "digest",
            unique=True,
            sqlite_where=text(HAS_DIGEST),
            postgresql_where=text(HAS_DIGEST),
        ),
        # Partial: the cascade only asks for children, so top-level annotations need no entry.
        Index(
            "ix_annotations_parent_id",
            "parent_id",
            sqlite_where=text(HAS_PARENT),
            postgresql_where=text(HAS_PARENT),
        ),
    )


class DutyLeaseRow(Base):
    __tablename__ = "duty_leases"

    #: Name of a background duty (``lease-reaper``…); one replica holds it at a time.
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(255))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
