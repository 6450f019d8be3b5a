"""Request and response bodies of classifier heads refitted from identifications."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from trapline.evaluation.classifiers import Classifier
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import Input, Instant, Name
from trapline.schemas.evaluation import TaxonScoreOut, taxon_scores
from trapline.services.review.refit_scores import RefitScored

#: A pipeline's slug, or ``slug@N`` for one version of it.
FeaturesFrom = Annotated[str, StringConstraints(min_length=1, max_length=266, pattern=ONE_LINE)]


class ClassifierIn(Input):
    name: Name
    features_from: FeaturesFrom = Field(
        description="the pipeline whose feature vectors the head reads: its slug, or slug@N "
        "for one version of it; crops:slug (or crops:slug@N) reads trapline's colour and shape "
        "descriptors of that pipeline's boxes instead, for pipelines that give no features"
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
    on_crops: bool = Field(
        description="true: it reads trapline's crop descriptors of the pipeline's boxes "
        "(features_from crops:slug), not vectors the pipeline posted"
    )
    boxes_of: str = Field(description="the pipeline (slug or slug@N) whose boxes it names")
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
    stage: str | None = Field(
        None, description="while it is fitted: what it is doing (the fold it cross-validates)"
    )
    progress: float | None = Field(
        None, description="the share of the fit done, 0 to 1 (1 once fitted; null: not begun)"
    )

    @classmethod
    def of(cls, found: Classifier) -> ClassifierOut:
        results: dict[str, Any] = found.results or {}
        return cls(
            id=found.id, project_id=found.project_id, name=found.name, status=found.status.value,
            error=found.error, features_from=found.features_from, on_crops=found.on_crops,
            boxes_of=found.boxes_of,
            features_version=found.features_version, features_length=found.features_length,
            cv_accuracy=results.get("accuracy"), folds=results.get("folds"),
            converged=results.get("converged"), size=found.individuals,
            detections=found.detections, identifications=found.identifications,
            latest_identification_id=found.latest_identification_id,
            taxa=[RefitTaxonOut(**t) for t in results.get("taxa", [])],
            too_few=[TooFewOut(**t) for t in results.get("too_few", [])],
            created_by=found.created_by, created_at=found.created_at, fitted_at=found.fitted_at,
            stage=found.stage, progress=found.progress,
        )  # fmt: skip


class ModelScoresOut(BaseModel):
    """The version whose features the refit reads, scored on the same set by its own names."""

    pipeline: str
    version: int
    seen: int = Field(description="identified boxes of the set on photos the version ran on")
    correct: int
    accuracy: float | None = Field(description="top-1: correct / seen (null: none seen)")
    top5_accuracy: float | None
    taxa: list[TaxonScoreOut]


class RefitScoresOut(BaseModel):
    classifier_id: int
    set_id: int
    pipeline: str = Field(description="the pipeline whose boxes and features the refit names")
    version: int
    size: int = Field(description="identified boxes in the set")
    seen: int = Field(description="of them, on photos the version ran on")
    correct: int = Field(description="of those seen, named right by the refit")
    accuracy: float | None = Field(description="top-1: correct / seen (null: none seen)")
    top5_accuracy: float | None = Field(
        description="people's taxon among the refit's five most probable (null: none seen)"
    )
    no_vector: int = Field(
        description="the version's boxes on the set's photos without a vector of the refit's "
        "length: named nothing, so an identified box they stand for counts as wrong"
    )
    in_fit: int = Field(
        description="identified boxes the refit may have learnt from (their identification, or "
        "an earlier one of their individual, is among those it was fitted on): figures over "
        "them flatter it"
    )
    held_out: int = Field(description="the set's other identified boxes")
    held_out_seen: int
    held_out_accuracy: float | None = Field(
        description="top-1 over the held-out boxes seen: how it does on animals it never "
        "learnt from (null: none)"
    )
    held_out_top5_accuracy: float | None
    taxa: list[TaxonScoreOut] = Field(description="the refit's figures per taxon, over all")
    model: ModelScoresOut
    note: str = Field(description="what the figures mean, in words")

    @classmethod
    def of(cls, scored: RefitScored) -> RefitScoresOut:
        s, held, m = scored.score, scored.held_out, scored.model.score
        return cls(
            classifier_id=scored.classifier.id, set_id=scored.set.id,
            pipeline=scored.version.slug, version=scored.version.version, size=s.size,
            seen=s.seen, correct=s.correct, accuracy=s.accuracy, top5_accuracy=s.top_k_accuracy,
            no_vector=scored.no_vector, in_fit=scored.in_fit, held_out=held.size,
            held_out_seen=held.seen, held_out_accuracy=held.accuracy,
            held_out_top5_accuracy=held.top_k_accuracy, taxa=taxon_scores(s),
            model=ModelScoresOut(
                pipeline=scored.model.version.slug, version=scored.model.version.version,
                seen=m.seen, correct=m.correct, accuracy=m.accuracy,
                top5_accuracy=m.top_k_accuracy, taxa=taxon_scores(m),
            ),
            note=fit_note(scored),
        )  # fmt: skip


def fit_note(scored: RefitScored) -> str:
    """What the in-fit count means for the figures, in a person's words."""
    if scored.score.size == 0:
        return "the set is empty: there is nothing to score"
    if scored.in_fit == 0:
        return "none of the set's identified boxes was among those the refit was fitted on"
    return (
        f"{scored.in_fit} of the set's {scored.score.size} identified boxes were among the "
        "identifications the refit was fitted on: figures over them flatter the refit, which "
        "has seen them. The held-out figures, over the others only, say how it does on "
        "animals it never learnt from."
    )
