"""Callback API records: project callback secrets, accepted signatures and the answers of
their calls, artifacts."""

from __future__ import annotations

import zlib
from datetime import datetime

from sqlalchemy import delete, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trapline.db.tables import ArtifactRow, CallbackSecretRow, CallbackSignatureRow
from trapline.db.types import affected
from trapline.domain.callbacks.callbacks import (
    Artifact,
    ArtifactType,
    CallAnswer,
    CallbackSecret,
    SignatureUse,
)

#: Answers longer than this (bytes) are kept compressed: a bulk post's lists thousands of
#: annotations.
_COMPRESS_OVER = 4096


def _secret(row: CallbackSecretRow) -> CallbackSecret:
    return CallbackSecret(
        row.id, row.project_id, row.key_id, row.name, row.created_at, row.revoked_at
    )


def _artifact(row: ArtifactRow) -> Artifact:
    return Artifact(
        row.id,
        row.analysis_id,
        ArtifactType(row.artifact_type),
        row.filename,
        row.content_type,
        row.storage_key,
    )


class CallbackRepo:
    """Secrets, signatures and artifacts of the callback API."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Secrets

    def add_secret(
        self, project_id: int, key_id: str, name: str, sealed: str, by: int, now: datetime
    ) -> CallbackSecret:
        """Store a new (sealed) secret."""
        row = CallbackSecretRow(
            project_id=project_id,
            key_id=key_id,
            name=name,
            sealed=sealed,
            created_by_id=by,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _secret(row)

    def secrets(self, project_id: int) -> list[CallbackSecret]:
        """A project's secrets, revoked ones too, oldest first."""
        query = (
            select(CallbackSecretRow)
            .where(CallbackSecretRow.project_id == project_id)
            .order_by(CallbackSecretRow.id)
        )
        return [_secret(r) for r in self.session.scalars(query)]

    def active_sealed(self, project_id: int, key_id: str | None) -> list[tuple[str, str]]:
        """(key id, sealed secret) of a project's active secrets; only ``key_id``'s if given."""
        query = select(CallbackSecretRow.key_id, CallbackSecretRow.sealed).where(
            CallbackSecretRow.project_id == project_id, CallbackSecretRow.revoked_at.is_(None)
        )
        if key_id is not None:
            query = query.where(CallbackSecretRow.key_id == key_id)
        return [(k, s) for k, s in self.session.execute(query)]

    def revoke_secret(self, project_id: int, secret_id: int, now: datetime) -> bool:
        """Revoke one of the project's secrets; False when it has no such secret."""
        result = self.session.execute(
            update(CallbackSecretRow)
            .where(
                CallbackSecretRow.id == secret_id,
                CallbackSecretRow.project_id == project_id,
            )
            .values(revoked_at=now)
        )
        return affected(result) == 1

    # Signatures

    def claim_signature(
        self, digest: str, analysis_id: int, action: str, expires_at: datetime
    ) -> bool:
        """Record a signature as used by this call, its answer to come; False when it was
        recorded before (by this call or another)."""
        dialect = self.session.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(CallbackSignatureRow)
            .values(digest=digest, analysis_id=analysis_id, action=action, expires_at=expires_at)
            .on_conflict_do_nothing(index_elements=["digest"])
            .returning(CallbackSignatureRow.id)
        )
        return self.session.execute(statement).first() is not None

    def signature_use(self, digest: str) -> SignatureUse | None:
        """The call a signature was first used on and its answer; None if it is not recorded."""
        row = self.session.scalars(
            select(CallbackSignatureRow).where(CallbackSignatureRow.digest == digest)
        ).first()
        if row is None:
            return None
        answer = None
        if row.answer_status is not None and row.answer_body is not None:
            body = zlib.decompress(row.answer_body) if row.answer_compressed else row.answer_body
            answer = CallAnswer(row.answer_status, row.answer_media_type or "", body)
        return SignatureUse(row.analysis_id, row.action, answer)

    def keep_answer(self, digest: str, answer: CallAnswer) -> None:
        """Store the answer of a signature's call, to be given again to a repeat."""
        compressed = len(answer.body) > _COMPRESS_OVER
        body = zlib.compress(answer.body, 1) if compressed else answer.body
        self.session.execute(
            update(CallbackSignatureRow)
            .where(CallbackSignatureRow.digest == digest)
            .values(
                answer_status=answer.status,
                answer_media_type=answer.media_type,
                answer_body=body,
                answer_compressed=compressed,
            )
        )

    def release_signature(self, digest: str) -> None:
        """Forget a signature whose call has no answer to keep (it failed on the server's
        side), so that a repeat runs again."""
        self.session.execute(
            delete(CallbackSignatureRow).where(
                CallbackSignatureRow.digest == digest, CallbackSignatureRow.answer_status.is_(None)
            )
        )

    def forget_signatures(self, now: datetime) -> int:
        """Remove signatures whose timestamps are out of the window anyway."""
        result = self.session.execute(
            delete(CallbackSignatureRow).where(CallbackSignatureRow.expires_at < now)
        )
        return affected(result)

    # Artifacts

    def add_artifact(
        self,
        analysis_id: int,
        kind: ArtifactType,
        filename: str,
        content_type: str,
        key: str,
        now: datetime,
    ) -> Artifact:
        """Record an artifact an analysis is about to upload."""
        row = ArtifactRow(
            analysis_id=analysis_id,
            artifact_type=kind.value,
            filename=filename,
            content_type=content_type,
            storage_key=key,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _artifact(row)

    def artifact_count(self, analysis_id: int) -> int:
        """How many artifacts an analysis has asked for."""
        query = select(func.count()).where(ArtifactRow.analysis_id == analysis_id)
        return int(self.session.scalar(query) or 0)

    def artifacts(self, analysis_id: int) -> list[Artifact]:
        """An analysis's artifacts, in the order they were asked for."""
        query = (
            select(ArtifactRow)
            .where(ArtifactRow.analysis_id == analysis_id)
            .order_by(ArtifactRow.id)
        )
        return [_artifact(r) for r in self.session.scalars(query)]

    def artifact_by_key(self, key: str) -> Artifact | None:
        """The artifact stored under ``key``."""
        row = self.session.scalars(select(ArtifactRow).where(ArtifactRow.storage_key == key))
        found = row.first()
        return _artifact(found) if found else None
