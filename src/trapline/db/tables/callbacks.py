"""Tables of the callback API: project callback secrets, accepted signatures (with the answer
of their call), artifacts."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from trapline.db.tables.base import Base
from trapline.db.types import IdType, UTCDateTime, utcnow


class CallbackSecretRow(Base):
    __tablename__ = "callback_secrets"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    project_id: Mapped[int] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    #: What a pipeline sends in ``X-ML-Key-Id`` to pick this secret; random, never reused.
    key_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    #: The secret, encrypted (AES-GCM under a key derived from the server's secret key).
    sealed: Mapped[str] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(IdType, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class CallbackSignatureRow(Base):
    __tablename__ = "callback_signatures"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    #: SHA-256 of an accepted signature: unique, so a signature is good for one call whichever
    #: replica it reaches.
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    #: The analysis and the call (the route's name) the signature was first used on.
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    action: Mapped[str] = mapped_column(String(64))
    #: The first call's answer, given again to an identical repeat; NULL while it runs.
    answer_status: Mapped[int | None] = mapped_column(Integer, nullable=True)
    answer_media_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    answer_body: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    #: Whether ``answer_body`` is zlib-compressed (large answers: a bulk post's).
    answer_compressed: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Past this the signature's timestamp is out of the window anyway; the row can go.
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class ArtifactRow(Base):
    __tablename__ = "analysis_artifacts"

    id: Mapped[int] = mapped_column(IdType, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(
        ForeignKey("analyses.id", ondelete="CASCADE"), index=True
    )
    artifact_type: Mapped[str] = mapped_column(String(16))
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(1024), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
