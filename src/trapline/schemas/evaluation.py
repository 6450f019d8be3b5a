"""Request and response bodies of evaluation sets and their scores."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from trapline.evaluation.sets import EvaluationSet, SetScore
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import BodyId, Day, Input, Instant, Name
from trapline.services.review.evaluation import MAX_TAXA, Scored, confusion_rows

#: A taxon's scientific name in a request.
TaxonName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=ONE_LINE)]


class EvaluationSetIn(Input):
    name: Name
    deployment_id: BodyId | None = Field(None, description="this deployment's photos only")
    since: Day | None = Field(None, description="photos taken on or after this date")
    until: Day | None = Field(None, description="photos taken on or before this date")
    taxa: list[TaxonName] = Field(
        default_factory=list,
        max_length=MAX_TAXA,
        description="scientific names of the project's taxa list: identifications of these "
        "and of taxa under them only (none: all)",
    )


class EvaluationSetOut(BaseModel):
    id: int
    project_id: int
    name: str
    #: Identified boxes: the set's members.
    size: int
    #: Boxes people confirmed, rejected or drew on the same photos.
    reviewed: int
    deployment_id: int | None
    since: date | None
    until: date | None
    taxa: list[str]
    created_by: str | None
    created_at: Instant
    #: Why the set is empty, when it is (an empty set is kept, not refused).
    note: str | None = None

    @classmethod
    def of(cls, found: EvaluationSet, note: str | None = None) -> EvaluationSetOut:
        return cls(
            id=found.id, project_id=found.project_id, name=found.name, size=found.size,
            reviewed=found.reviewed, deployment_id=found.deployment_id, since=found.since,
            until=found.until, taxa=list(found.taxa), created_by=found.created_by,
            created_at=found.created_at, note=note,
        )  # fmt: skip


class TaxonScoreOut(BaseModel):
    taxon_id: int | None
    scientific_name: str
    members: int = Field(description="identified boxes of this taxon in the set")
    support: int = Field(description="of them, on photos the version ran on")
    predicted: int = Field(description="identified boxes (seen) the version named this taxon")
    correct: int
    precision: float | None = Field(description="correct / predicted (null: none predicted)")
    recall: float | None = Field(description="correct / support (null: none seen)")


class ConfusionOut(BaseModel):
    scientific_name: str = Field(description="the taxon people named")
    predicted: str = Field(
        description="what the version named it: a taxon, a label no taxon stands for, or "
        '"" (no box of the version there)'
    )
    count: int


class BoxScoresOut(BaseModel):
    """The version's boxes against the boxes people identified, confirmed, rejected or drew,
    on the photos it ran on (IoU 0.5)."""

    identified: int
    confirmed: int
    rejected: int
    drawn: int
    true_positives: int
    false_positives: int
    misses: int
    unjudged: int = Field(description="its boxes where nobody said anything: not counted")
    precision: float | None
    recall: float | None


class ScoresOut(BaseModel):
    set_id: int
    pipeline: str
    version: int
    threshold: float | None = Field(
        description="the version's default threshold (null: it declares none); the boxes of "
        "a run whose job set its own threshold are held to that one"
    )
    size: int = Field(description="identified boxes in the set")
    seen: int = Field(description="of them, on photos the version ran on")
    correct: int
    accuracy: float | None = Field(description="top-1: correct / seen (null: none seen)")
    top5_accuracy: float | None = Field(
        description="people's taxon among the version's first five labels (null: no "
        "prediction ranked several)"
    )
    taxa: list[TaxonScoreOut]
    confusion: list[ConfusionOut]
    boxes: BoxScoresOut
    note: str | None = None

    @classmethod
    def of(cls, scored: Scored) -> ScoresOut:
        s = scored.score
        kinds = {k.value: n for k, n in s.by_kind.items()}
        counted = s.boxes.true_positives + s.boxes.false_positives
        truth = s.boxes.true_positives + s.boxes.misses
        return cls(
            set_id=scored.set.id,
            pipeline=scored.version.slug,
            version=scored.version.version,
            threshold=scored.version.threshold,
            size=s.size,
            seen=s.seen,
            correct=s.correct,
            accuracy=s.accuracy,
            top5_accuracy=s.top_k_accuracy,
            taxa=taxon_scores(s),
            confusion=[
                ConfusionOut(scientific_name=a, predicted=b, count=n)
                for a, b, n in confusion_rows(scored)
            ],
            boxes=BoxScoresOut(
                identified=kinds.get("identified", 0),
                confirmed=kinds.get("confirmed", 0),
                rejected=kinds.get("rejected", 0),
                drawn=kinds.get("drawn", 0),
                true_positives=s.boxes.true_positives,
                false_positives=s.boxes.false_positives,
                misses=s.boxes.misses,
                unjudged=s.unjudged,
                precision=s.boxes.true_positives / counted if counted else None,
                recall=s.boxes.true_positives / truth if truth else None,
            ),
            note=_note(scored),
        )


def taxon_scores(score: SetScore) -> list[TaxonScoreOut]:
    """A tally's figures per taxon, as answered."""
    return [
        TaxonScoreOut(
            taxon_id=t.taxon_id,
            scientific_name=t.scientific_name,
            members=t.members,
            support=t.support,
            predicted=t.predicted,
            correct=t.correct,
            precision=t.precision,
            recall=t.recall,
        )
        for t in score.taxa()
    ]


def _note(scored: Scored) -> str | None:
    if scored.score.size == 0:
        return "the set is empty: there is nothing to score"
    if scored.score.seen == 0:
        v = scored.version
        return f"{v.slug} version {v.version} ran on none of the set's photos"
    return None
