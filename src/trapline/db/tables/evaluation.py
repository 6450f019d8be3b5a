"""Tables of evaluation sets (people's identifications and box reviews frozen under a name, for
scoring model versions against: ``services/review/evaluation.py``) and of classifier heads
refitted from identifications (``services/review/classifiers.py``)."""

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
    Integer,
    LargeBinary,
    String,
    Text,
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


class ClassifierRow(Base):
    """A classifier head refitted on a project's identified detections' features: queued by a
    person, fitted in the background under a lease (a run: ``db/leased_rows.py``)."""

    __tablename__ = "classifiers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: The pipeline whose feature vectors it reads (its slug), and the version and length of
    #: the vectors it was fitted on (once fitted).
    features_from: Mapped[str] = mapped_column(String(255))
    features_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    features_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: queued, fitting, fitted or failed.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The server fitting it and its last heartbeat (its lease); claims so far.
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: What it was fitted on: identifications (one an individual), the newest of them (all
    #: older ones not withdrawn were there to take), individuals and detections.
    identifications: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latest_identification_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    individuals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    detections: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The cross-validated figures (``evaluation/refit.Refit``) as JSON.
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: The head (``evaluation/heads.Head.to_bytes``); read only when asked for.
    parameters: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True, deferred=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: While it is fitted: what it is doing, and the share of the fit done (0 to 1).
    stage: Mapped[str | None] = mapped_column(String(120), nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint("status IN ('queued', 'fitting', 'fitted', 'failed')", name="status"),
        # The duty looks for runs to claim by status.
        Index("ix_classifiers_status", "status"),
    )


class DetectionScorerRow(Base):
    """The insect score of ``moth-blobs`` refitted on a project's box reviews: queued by a
    person, fitted in the background under a lease (a run: ``db/leased_rows.py``)."""

    __tablename__ = "detection_scorers"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: queued, fitting, fitted or failed.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The server fitting it and its last heartbeat (its lease); claims so far.
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: The fitted weights (``ScorerWeights.as_dict``) and the held-out figures, as JSON.
    weights: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    #: What it was fitted on: reviewed photos, blobs that were insects and that were not, and
    #: the newest review it could take.
    photos: Mapped[int | None] = mapped_column(Integer, nullable=True)
    insects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    others: Mapped[int | None] = mapped_column(Integer, nullable=True)
    latest_review_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    fitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: While it is fitted: what it is doing, and the share of the fit done (0 to 1).
    stage: Mapped[str | None] = mapped_column(String(120), nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (
        UniqueConstraint("project_id", "name"),
        CheckConstraint("status IN ('queued', 'fitting', 'fitted', 'failed')", name="status"),
        # The duty looks for runs to claim by status.
        Index("ix_detection_scorers_status", "status"),
    )
