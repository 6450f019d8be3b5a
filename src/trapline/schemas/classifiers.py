"""Request and response bodies of classifier heads refitted from identifications."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from trapline.evaluation.classifiers import Classifier
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import Input, Instant, Name

#: A pipeline's slug, or ``slug@N`` for one version of it.
FeaturesFrom = Annotated[str, StringConstraints(min_length=1, max_length=266, pattern=ONE_LINE)]


class ClassifierIn(Input):
    name: Name
    features_from: FeaturesFrom = Field(
        description="the pipeline whose feature vectors the head reads: its slug, or slug@N "
        "for one version of it"
    )


class ClassifierCreated(BaseModel):
    id: int
    status: str


class RefitTaxonOut(BaseModel):
    taxon_id: int
    scientific_name: str
    individuals: int = Field(description="identified individuals of this taxon fitted on")
    support: int = Field(description="their detections")
    predicted: int = Field(description="detections the cross-validated head named this taxon")
    correct: int
    precision: float | None = Field(description="correct / predicted (null: none predicted)")
    recall: float | None = Field(description="correct / support")


class TooFewOut(BaseModel):
    taxon_id: int
    scientific_name: str
    individuals: int
    events: int = Field(description="events (nights, sequences) its individuals were seen in")
    detections: int


class ClassifierOut(BaseModel):
    id: int
    project_id: int
    name: str
    status: str = Field(description="queued, fitting, fitted or failed")
    error: str | None = Field(description="why it failed")
    features_from: str
    features_version: int | None = Field(description="the version whose vectors it read")
    features_length: int | None = Field(description="numbers a vector")
    cv_accuracy: float | None = Field(
        description="detections named right by a head fitted without their event, of all "
        "(cross-validated, grouped by event)"
    )
    folds: int | None
    converged: bool | None
    size: int | None = Field(description="identified individuals fitted on")
    detections: int | None = Field(description="their detections with vectors")
    identifications: int | None = Field(description="identifications taken, one an individual")
    latest_identification_id: int | None
    taxa: list[RefitTaxonOut]
    too_few: list[TooFewOut] = Field(
        description="taxa left out: their individuals were seen in fewer than 2 events"
    )
    created_by: str | None
    created_at: Instant
    fitted_at: Instant | None

    @classmethod
    def of(cls, found: Classifier) -> ClassifierOut:
        results: dict[str, Any] = found.results or {}
        return cls(
            id=found.id, project_id=found.project_id, name=found.name, status=found.status.value,
            error=found.error, features_from=found.features_from,
            features_version=found.features_version, features_length=found.features_length,
            cv_accuracy=results.get("accuracy"), folds=results.get("folds"),
            converged=results.get("converged"), size=found.individuals,
            detections=found.detections, identifications=found.identifications,
            latest_identification_id=found.latest_identification_id,
            taxa=[RefitTaxonOut(**t) for t in results.get("taxa", [])],
            too_few=[TooFewOut(**t) for t in results.get("too_few", [])],
            created_by=found.created_by, created_at=found.created_at, fitted_at=found.fitted_at,
        )  # fmt: skip
