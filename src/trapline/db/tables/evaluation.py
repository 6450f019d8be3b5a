"""Tables of evaluation sets: people's identifications and box reviews frozen under a name, for
scoring model versions against (``services/review/evaluation.py``)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    Float,
    ForeignKey,
    Index,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class EvaluationSetRow(Base):
    """A named set of a project's identifications and box reviews, as they were when frozen."""

    __tablename__ = "evaluation_sets"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: What was frozen: the deployment (None: all), the dates (both included) and the taxa
    #: named (their scientific names; empty: all), as the person asked.
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    since: Mapped[date | None] = mapped_column(Date, nullable=True)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)
    taxa: Mapped[list[Any]] = mapped_column(JSON, default=list)
    #: Identified boxes (the set's size), and reviewed boxes besides them.
    size: Mapped[int] = mapped_column(IdType, default=0)
    reviewed: Mapped[int] = mapped_column(IdType, default=0)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("project_id", "name"),)


class EvaluationItemRow(Base):
    """One box of a set: identified (with the taxon a person named), confirmed, rejected, or
    drawn by a person. Copied when the set was frozen: later identifications, withdrawals,
    reviews and re-runs change nothing here."""

    __tablename__ = "evaluation_items"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    set_id: Mapped[int] = mapped_column(ForeignKey("evaluation_sets.id", ondelete="CASCADE"))
    #: The photo; a record only (no key): a deleted photo's items stay, seen by no version.
    image_id: Mapped[int] = mapped_column(IdType)
    #: identified, confirmed, rejected or drawn.
    kind: Mapped[str] = mapped_column(String(16))
    x1: Mapped[float] = mapped_column(Float)
    y1: Mapped[float] = mapped_column(Float)
    x2: Mapped[float] = mapped_column(Float)
    y2: Mapped[float] = mapped_column(Float)
    #: The taxon named (identified boxes); its name and rank are kept in case it is deleted.
    taxon_id: Mapped[int | None] = mapped_column(
        ForeignKey("taxa.id", ondelete="SET NULL"), nullable=True
    )
    scientific_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    rank: Mapped[str | None] = mapped_column(String(16), nullable=True)
    #: Records of where it came from (no keys: they may go, the item stays).
    annotation_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    identification_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    review_id: Mapped[int | None] = mapped_column(IdType, nullable=True)

    __table_args__ = (
        # Scoring walks a set photo by photo.
        Index("ix_evaluation_items_set_id_image_id", "set_id", "image_id", "id"),
        CheckConstraint("kind IN ('identified', 'confirmed', 'rejected', 'drawn')", name="kind"),
    )
