"""Tables of users, projects, deployments, images and collections."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    false,
    select,
)
from sqlalchemy.orm import Mapped, column_property, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class InstallationRow(Base):
    """This installation: the one row whose UUID makes published ids globally unique."""

    __tablename__ = "installation"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)


class UserRow(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    #: A processing-service account: may act as a worker in its projects, nothing more.
    is_service: Mapped[bool] = mapped_column(Boolean, default=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: argon2id hash of the web sign-in password; None: the user cannot sign in on the web.
    password_hash: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ApiTokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    prefix: Mapped[str] = mapped_column(String(16))
    #: SHA-256 hex of the whole token; the token itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: Kept in step with the images table so listing a huge project needs no COUNT(*).
    image_count: Mapped[int] = mapped_column(IdType, default=0)
    #: How many labels and scores each stored classification keeps.
    classification_top_k: Mapped[int] = mapped_column(SmallInteger, default=5)
    #: Whether classifications also keep the full score and logit vectors.
    keep_full_scores: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The IANA time zone of deployments that name none and of images without a deployment.
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    #: How deployments that name no rule group their photos into events (domain/ecology/events.py).
    event_rule: Mapped[str] = mapped_column(
        String(16), default="sequence", server_default="sequence"
    )
    #: The gap, in seconds, that starts a new event under the ``sequence`` rule.
    event_gap_seconds: Mapped[int] = mapped_column(Integer, default=60, server_default="60")
    #: ``light_trap``, ``camera_trap`` or ``other``: what a new project's defaults follow.
    kind: Mapped[str] = mapped_column(String(16), default="other", server_default="other")
    #: The pipeline a person chose for the project's counts: every deployment it has results
    #: on counts by it, but one a person chose another for (``DeploymentRow``).
    counting_pipeline: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: None while ``photo_findings`` hold every photo's current results; else they are being
    #: worked out again (what is current changed for the whole project), and photos up to this
    #: id are done.
    findings_rebuilt_to: Mapped[int | None] = mapped_column(IdType, nullable=True)
    #: What publishing needs: the data's licence (a URL or SPDX id) and its contacts.
    licence: Mapped[str] = mapped_column(String(255), default="", server_default="")
    contacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MembershipRow(Base):
    __tablename__ = "memberships"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    role: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        CheckConstraint("role IN ('viewer', 'member', 'manager', 'owner')", name="role"),
    )


class DeploymentRow(Base):
    __tablename__ = "deployments"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    latitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    longitude: Mapped[float | None] = mapped_column(Float, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The IANA time zone capture times without an offset are read in; None: the project's.
    time_zone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    #: The camera's clock keeps the zone's standard time all year (no daylight saving).
    standard_time: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: The deployment's own event rule and gap; None: the project's.
    event_rule: Mapped[str | None] = mapped_column(String(16), nullable=True)
    event_gap_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The pipeline the deployment's counts are of (None: nothing tracked on it yet) and who
    #: chose it: ``results`` (the first tracked on it), ``project`` (the project's choice) or
    #: ``person`` (for this deployment). Nothing but a person changes it once set.
    counting_pipeline: Mapped[str | None] = mapped_column(String(255), nullable=True)
    counting_chosen: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: What the last change of it could not carry to the new pipeline's individuals, a line
    #: an identification or review (``services/ecology/carrying.py``).
    counting_not_carried: Mapped[str | None] = mapped_column(Text, nullable=True)

    __table_args__ = (
        CheckConstraint("latitude IS NULL OR (latitude >= -90 AND latitude <= 90)", name="lat"),
        CheckConstraint(
            "longitude IS NULL OR (longitude >= -180 AND longitude <= 180)", name="lon"
        ),
    )


class ImageEventRow(Base):
    """Which event a photo falls in: a narrow row of its own, so that grouping a deployment
    writes two ids per photo instead of rewriting the photo's row and its every index
    (decision 045). A photo in no event (no time, no deployment, not grouped yet) has none.
    It goes with its event; it has no key to its image (checking one would lock, and so
    rewrite, the image's row), so ``ImageRepo.delete`` deletes it."""

    __tablename__ = "image_events"

    image_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("events.id", ondelete="CASCADE"))

    __table_args__ = (Index("ix_image_events_event_image", "event_id", "image_id"),)


class PhotoFindingRow(Base):
    """What a photo's current results found, kept for the grid's filters (``db/photo_findings.py``
    keeps it as results arrive and as what is current changes): whether any current result has a
    box, and the best confidence of any current annotation. Every photo has one, made with it
    (found without detections, no confidence, until results come). Its time and deployment are
    the photo's, so a filtered page walks this table's index in the grid's order. Its only key
    is to the photo (whose row the keeping locks anyway): a key to the project or deployment
    would lock their rows as results are stored, against a delete that holds them and waits for
    the results' tasks."""

    __tablename__ = "photo_findings"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[int] = mapped_column(IdType)
    deployment_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    captured_sort: Mapped[datetime] = mapped_column(DateTime)
    detected: Mapped[bool] = mapped_column(Boolean)
    best_confidence: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        # The confidence last: a count by detections and confidence reads these alone.
        Index(
            "ix_photo_findings_detected",
            "project_id",
            "detected",
            "captured_sort",
            "image_id",
            "best_confidence",
        ),
        Index(
            "ix_photo_findings_deployment_detected",
            "project_id",
            "deployment_id",
            "detected",
            "captured_sort",
            "image_id",
            "best_confidence",
        ),
        Index("ix_photo_findings_confidence", "project_id", "best_confidence"),
    )


class PhotoLabelRow(Base):
    """A label some current result of a photo gives, with the best confidence it is given at
    (kept with ``PhotoFindingRow``): the grid's label filter walks these in the grid's order."""

    __tablename__ = "photo_labels"

    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True
    )
    label: Mapped[str] = mapped_column(String(255), primary_key=True)
    project_id: Mapped[int] = mapped_column(IdType)
    deployment_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    captured_sort: Mapped[datetime] = mapped_column(DateTime)
    confidence: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        Index("ix_photo_labels_label", "project_id", "label", "captured_sort", "image_id"),
        Index(
            "ix_photo_labels_deployment_label",
            "project_id",
            "deployment_id",
            "label",
            "captured_sort",
            "image_id",
        ),
    )


class ImageRow(Base):
    __tablename__ = "images"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    storage_key: Mapped[str] = mapped_column(String(1024))
    filename: Mapped[str] = mapped_column(String(1024))
    sha256: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(IdType)
    width: Mapped[int] = mapped_column(IdType)
    height: Mapped[int] = mapped_column(IdType)
    content_type: Mapped[str] = mapped_column(String(64))
    #: Camera wall-clock time of capture as read (no zone); its offset is kept apart.
    captured_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    #: ``captured_at``'s UTC offset: the file's own, else its deployment's zone's at that time
    #: (set again when the zone changes or the image moves).
    captured_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    #: The UTC offset the file itself gave, None when it gave none: what a re-reading keeps.
    file_offset_minutes: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    #: ``captured_at``, or a far-future sentinel when unknown: a NOT NULL key that keyset
    #: pagination can walk on one index the same way on SQLite and PostgreSQL.
    captured_sort: Mapped[datetime] = mapped_column(DateTime)
    source: Mapped[str] = mapped_column(String(16), default="upload")
    uploaded_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The event the image falls in (domain/ecology/events.py), kept in ``image_events``; None
    #: without a time or a deployment. Read like a column; filter by event through
    #: ``ImageEventRow``.
    event_id: Mapped[int | None] = column_property(
        select(ImageEventRow.event_id)
        .where(ImageEventRow.image_id == id)
        .correlate_except(ImageEventRow)
        .scalar_subquery()
    )

    __table_args__ = (
        Index("uq_images_project_sha256", "project_id", "sha256", unique=True),
        Index("ix_images_project_id_id", "project_id", "id"),
        Index("ix_images_project_captured_sort", "project_id", "captured_sort", "id"),
        Index("ix_images_project_deployment", "project_id", "deployment_id", "id"),
        Index(
            "ix_images_project_deployment_captured",
            "project_id",
            "deployment_id",
            "captured_sort",
            "id",
        ),
        Index("ix_images_deployment_id", "deployment_id"),
    )


class CollectionRow(Base):
    __tablename__ = "collections"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    #: ``explicit`` (a list of images) or ``filter`` (a saved image filter).
    kind: Mapped[str] = mapped_column(String(16))
    filter: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (CheckConstraint("kind IN ('explicit', 'filter')", name="kind"),)


class CollectionImageRow(Base):
    __tablename__ = "collection_images"

    collection_id: Mapped[int] = mapped_column(
        ForeignKey("collections.id", ondelete="CASCADE"), primary_key=True
    )
    image_id: Mapped[int] = mapped_column(
        ForeignKey("images.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class PipelinePinRow(Base):
    """The version of a pipeline whose results are a project's current ones (decision 039)."""

    __tablename__ = "pipeline_pins"

    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    slug: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RereadRow(Base):
    """A re-reading of capture times after a time zone changed, run in the background."""

    __tablename__ = "capture_time_rereads"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: The deployment whose images are re-read; None: those following the project's zone.
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    time_zone: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    images_total: Mapped[int | None] = mapped_column(IdType, nullable=True)
    images_done: Mapped[int] = mapped_column(IdType, default=0)
    #: The last image re-read: a run taken over goes on from there.
    after_image_id: Mapped[int] = mapped_column(IdType, default=0)
    #: The server running it and its last heartbeat (its lease).
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'superseded')",
            name="status",
        ),
        Index("ix_capture_time_rereads_status", "status"),
    )
