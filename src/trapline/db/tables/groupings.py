"""Tables of groupings: a project's unidentified individuals grouped by their feature vectors
(``services/review/groupings.py``), and which group each individual fell in."""

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
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class GroupingRow(Base):
    """A grouping of a project's unidentified individuals: queued by a person, worked out in
    the background under a lease (a run: ``db/leased_rows.py``)."""

    __tablename__ = "groupings"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(200))
    #: The pipeline whose feature vectors it reads (its slug, or slug@N), and the version and
    #: length of the vectors it read (once done).
    features_from: Mapped[str] = mapped_column(String(255))
    features_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    features_length: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: The scope: one deployment (None: all), and the nights from and to (both included).
    deployment_id: Mapped[int | None] = mapped_column(
        ForeignKey("deployments.id", ondelete="SET NULL"), nullable=True
    )
    since: Mapped[date | None] = mapped_column(Date, nullable=True)
    until: Mapped[date | None] = mapped_column(Date, nullable=True)
    #: queued, running, done or failed.
    status: Mapped[str] = mapped_column(String(16), default="queued")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The server working it out and its last heartbeat (its lease); claims so far.
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: While it runs: what it is doing, and the share done (0 to 1).
    stage: Mapped[str | None] = mapped_column(String(120), nullable=True)
    progress: Mapped[float | None] = mapped_column(Float, nullable=True)
    #: Once done: individuals grouped (all taken, ungrouped ones included), the dimensions
    #: the vectors were reduced to, and the groups (number, size, tightness) and the
    #: silhouette of each number of groups tried, as JSON.
    individuals: Mapped[int | None] = mapped_column(Integer, nullable=True)
    dimensions: Mapped[int | None] = mapped_column(Integer, nullable=True)
    results: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    __table_args__ = (
        CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        # The duty looks for runs to claim by status; the project's page lists its groupings.
        Index("ix_groupings_status", "status"),
        Index("ix_groupings_project_id", "project_id"),
    )


class GroupingMemberRow(Base):
    """An individual (an occurrence) a grouping took: its group (0: ungrouped) and how alike it
    is to its group's centre. The occurrence is a record only (no key): tracking again
    deletes and makes occurrences, and a member whose occurrence went is read as gone."""

    __tablename__ = "grouping_members"

    grouping_id: Mapped[int] = mapped_column(
        ForeignKey("groupings.id", ondelete="CASCADE"), primary_key=True
    )
    occurrence_id: Mapped[int] = mapped_column(IdType, primary_key=True)
    group_number: Mapped[int] = mapped_column(Integer)
    similarity: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        # A group's page reads its members, most alike first.
        Index(
            "ix_grouping_members_grouping_id_group_number",
            "grouping_id",
            "group_number",
            "similarity",
        ),
    )
