"""Tables of people's sign-in sessions and their reviews of what the models found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class SessionRow(Base):
    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    #: SHA-256 hex of the cookie's secret; the secret itself is never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: What the browser said it was, cut short: lets a person tell their sessions apart.
    user_agent: Mapped[str] = mapped_column(String(200), default="")


class ReviewRow(Base):
    """A person's verdict on a machine annotation, or a box the machine missed.

    The machine annotation is never changed: the review is a human annotation linked to it.
    """

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    image_id: Mapped[int] = mapped_column(ForeignKey("images.id", ondelete="CASCADE"), index=True)
    #: The machine annotation reviewed; None for a box drawn where the models found nothing.
    annotation_id: Mapped[int | None] = mapped_column(
        ForeignKey("annotations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    #: confirm, relabel, false_detection or missing.
    verdict: Mapped[str] = mapped_column(String(16))
    label: Mapped[str | None] = mapped_column(String(255), nullable=True)
    x1: Mapped[float | None] = mapped_column(Float, nullable=True)
    y1: Mapped[float | None] = mapped_column(Float, nullable=True)
    x2: Mapped[float | None] = mapped_column(Float, nullable=True)
    y2: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_reviews_project_id_id", "project_id", "id"),
        CheckConstraint(
            "verdict IN ('confirm', 'relabel', 'false_detection', 'missing')", name="verdict"
        ),
    )
