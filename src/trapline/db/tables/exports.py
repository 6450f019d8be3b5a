"""The exports table: a project's export files, their filters, progress and expiry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class ExportRow(Base):
    __tablename__ = "exports"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: An export goes with its project (its file too: it lives under the project's prefix).
    project_id: Mapped[int] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    format: Mapped[str] = mapped_column(String(16))
    #: ``ExportFilters.as_json``: only the filters set.
    filters: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: When the file is removed (set when it is written).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: The server process running the export; its progress writes name it, so a runner that
    #: lost the export to another (it stalled past ``heartbeat_at``) stops.
    runner: Mapped[str | None] = mapped_column(String(255), nullable=True)
    #: Last sign of life of the runner; a running export silent for long is taken over.
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: Runs started so far (a crashed server's export is run again, a few times at most).
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    images_total: Mapped[int | None] = mapped_column(IdType, nullable=True)
    images_done: Mapped[int] = mapped_column(IdType, default=0)
    #: ``ExportCounts.as_json``.
    counts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: The first problems met (images the format could not hold...).
    errors: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: What a counting export counts, a line per deployment (``VersionShare.line``).
    counted: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    blob_key: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    file_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    size_bytes: Mapped[int | None] = mapped_column(IdType, nullable=True)

    __table_args__ = (
        Index("ix_exports_project_id_id", "project_id", "id"),
        Index("ix_exports_status", "status"),
        CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'canceled', 'expired')",
            name="status",
        ),
    )
