"""Request and response bodies of detection scorers refitted from box reviews."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from trapline.evaluation.detection_scorers import DetectionScorer
from trapline.schemas.common import Input, Instant, Name


class ScorerIn(Input):
    name: Name


class ScorerCreated(BaseModel):
    id: int
    status: str


class WeightsOut(BaseModel):
    bias: float = Field(description="the intercept")
    darkness: float
    size: float = Field(description="weight of the natural log of the blob's size over 1%")
    standout: float = Field(description="weight of how far it stands out of the sheet's texture")


class HeldOutOut(BaseModel):
    """Boxes moth-blobs counts on held-out photos, against people's at IoU 0.5."""

    true_positives: int
    false_positives: int = Field(
        description="on a box people rejected, a true box another took, or anywhere on a "
        "photo whose every box was reviewed"
    )
    misses: int = Field(description="confirmed or drawn boxes no counted box matched")
    unjudged: int = Field(description="anywhere else: nobody said anything there")
    precision: float
    recall: float


class FoldOut(BaseModel):
    nights: int = Field(description="nights (events) held out in this fold")
    photos: int
    before: HeldOutOut = Field(description="with the weights moth-blobs comes with")
    after: HeldOutOut = Field(description="with weights fitted without this fold's nights")


class ScorerOut(BaseModel):
    id: int
    project_id: int
    name: str
    status: str = Field(description="queued, fitting, fitted or failed")
    error: str | None = Field(description="why it failed")
    weights: WeightsOut | None = Field(description="fitted on every example (once fitted)")
    default_weights: WeightsOut | None = Field(description="the weights moth-blobs comes with")
    before: HeldOutOut | None = Field(
        description="every held-out photo with the weights moth-blobs comes with"
    )
    after: HeldOutOut | None = Field(
        description="every held-out photo with weights fitted without its night"
    )
    folds: list[FoldOut]
    photos: int | None = Field(description="reviewed photos read")
    whole_photos: int | None = Field(description="of them, photos whose every box was reviewed")
    unreadable_photos: int | None
    insects: int | None = Field(description="blobs that were insects (confirmed, drawn)")
    others: int | None = Field(description="blobs that were not (rejected, or unmarked on whole)")
    latest_review_id: int | None
    created_by: str | None
    created_at: Instant
    fitted_at: Instant | None
    stage: str | None = Field(None, description="while it is fitted: what it is doing")
    progress: float | None = Field(None, description="the share of the fit done, 0 to 1")

    @classmethod
    def of(cls, found: DetectionScorer) -> ScorerOut:
        results: dict[str, Any] = found.results or {}
        part = results.get
        return cls(
            id=found.id, project_id=found.project_id, name=found.name, status=found.status.value,
            error=found.error, weights=found.weights, default_weights=part("default_weights"),
            before=part("before"), after=part("after"), folds=results.get("folds", []),
            photos=found.photos, whole_photos=part("whole_photos"),
            unreadable_photos=part("unreadable_photos"), insects=found.insects,
            others=found.others, latest_review_id=found.latest_review_id,
            created_by=found.created_by, created_at=found.created_at, fitted_at=found.fitted_at,
            stage=found.stage, progress=found.progress,
        )  # fmt: skip
