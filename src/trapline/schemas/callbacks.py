"""Response bodies of the callback API (docs/callback-api.md)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from trapline.domain.callbacks.callbacks import Artifact, CallbackSecret
from trapline.domain.processing.results import Analysis, Annotation
from trapline.schemas.common import Instant


class CallbackAnnotationOut(BaseModel):
    id: int
    analysis_id: int
    image_id: int
    annotation_type: str
    class_name: str | None
    confidence: float | None
    ordering: int
    data: dict[str, Any] | None
    storage_path: str | None
    parent_id: int | None

    @classmethod
    def of(cls, a: Annotation) -> CallbackAnnotationOut:
        return cls(
            id=a.id,
            analysis_id=a.analysis_id,
            image_id=a.image_id,
            annotation_type=a.type.value,
            class_name=a.label,
            confidence=a.confidence,
            ordering=a.ordering,
            data=a.data,
            storage_path=a.storage_key,
            parent_id=a.parent_id,
        )


def annotation_dict(a: Annotation) -> dict[str, Any]:
    """``CallbackAnnotationOut`` of an annotation as a plain dict, for answers of thousands
    (building and serialising a model each costs several times more)."""
    return {
        "id": a.id,
        "analysis_id": a.analysis_id,
        "image_id": a.image_id,
        "annotation_type": a.type.value,
        "class_name": a.label,
        "confidence": a.confidence,
        "ordering": a.ordering,
        "data": a.data,
        "storage_path": a.storage_key,
        "parent_id": a.parent_id,
    }


class ArtifactOut(BaseModel):
    id: int
    artifact_type: str
    filename: str
    content_type: str
    storage_path: str
    #: A download link valid for ``ML_PRESIGNED_URL_EXPIRY_SECONDS``.
    download_url: str

    @classmethod
    def of(cls, a: Artifact, url: str) -> ArtifactOut:
        return cls(
            id=a.id,
            artifact_type=a.artifact_type.value,
            filename=a.filename,
            content_type=a.content_type,
            storage_path=a.storage_key,
            download_url=url,
        )


class CallbackAnalysisOut(BaseModel):
    id: int
    image_id: int
    model_name: str | None
    model_version: str | None
    status: str
    parameters: dict[str, Any] | None
    provenance: dict[str, Any] | None
    requested_by_id: int | None
    created_at: Instant
    annotations: list[CallbackAnnotationOut]
    error_message: str | None
    completed_at: Instant | None
    #: Where the analysis came from: ``callback``, ``job`` (a worker), ``push``.
    source: str

    @classmethod
    def of(cls, a: Analysis) -> CallbackAnalysisOut:
        return cls(
            id=a.id,
            image_id=a.image_id,
            model_name=a.model_name if a.source == "callback" else a.pipeline_slug,
            model_version=a.model_version
            if a.source == "callback"
            else (str(a.pipeline_version) if a.pipeline_version is not None else None),
            status=a.status.value,
            parameters=a.parameters,
            provenance=a.provenance,
            requested_by_id=a.requested_by_id,
            created_at=a.created_at,
            annotations=[CallbackAnnotationOut.of(x) for x in a.annotations],
            error_message=a.error,
            completed_at=a.completed_at,
            source=a.source,
        )


class AnalysisDetailOut(CallbackAnalysisOut):
    artifacts: list[ArtifactOut]


class PresignOut(BaseModel):
    upload_url: str
    storage_path: str


class BulkOut(BaseModel):
    annotations: list[CallbackAnnotationOut]
    total: int


class CallbackSecretOut(BaseModel):
    id: int
    project_id: int
    key_id: str
    name: str
    created_at: Instant
    revoked_at: Instant | None

    @classmethod
    def of(cls, s: CallbackSecret) -> CallbackSecretOut:
        return cls(
            id=s.id,
            project_id=s.project_id,
            key_id=s.key_id,
            name=s.name,
            created_at=s.created_at,
            revoked_at=s.revoked_at,
        )


class CallbackSecretCreatedOut(CallbackSecretOut):
    #: Shown only in this answer: keep it now.
    secret: str


class SignatureStatsOut(BaseModel):
    #: Refused signatures since this server process started, by reason.
    signature_failures: dict[str, int]
    total: int
