"""Tables of events (a deployment's runs of photos) and of their regroupings."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    CheckConstraint,
    DateTime,
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


class EventRow(Base):
    """An event: its photos point at it (``images.event_id``); its span and count are kept."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    #: The earliest photo: how a regrouping finds the event it just made for each photo.
    first_image_id: Mapped[int] = mapped_column(IdType, index=True)
    #: Wall-clock times of the first and last photo, with their UTC offsets.
    starts_at: Mapped[datetime] = mapped_column(DateTime)
    start_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    ends_at: Mapped[datetime] = mapped_column(DateTime)
    end_offset_minutes: Mapped[int] = mapped_column(SmallInteger)
    image_count: Mapped[int] = mapped_column(IdType)

    __table_args__ = (Index("ix_events_deployment_starts", "deployment_id", "starts_at"),)


class RegroupingRow(Base):
    """Grouping events again after a rule changed, deployment by deployment, in the
    background."""

    __tablename__ = "event_regroupings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: The deployment regrouped; None: every deployment of the project.
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    deployments_total: Mapped[int | None] = mapped_column(IdType, nullable=True)
    deployments_done: Mapped[int] = mapped_column(IdType, default=0)
    #: The last deployment regrouped: a run taken over goes on from there.
    after_deployment_id: Mapped[int] = mapped_column(IdType, default=0)
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
        Index("ix_event_regroupings_status", "status"),
    )
