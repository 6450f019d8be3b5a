"""Bodies of occurrences: an individual tracked across consecutive photos of an event."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from trapline.domain.ecology.occurrences import Occurrence, OccurrenceDetection
from trapline.protocol.base import NOT_TEXT
from trapline.schemas.common import Input, WallClock, with_offset

#: Most detections (or occurrences) one split (or merge) names.
MAX_EDITED = 10_000
#: An object's id in a split or merge: a number no object has is simply not one of those
#: named (a split's 400, a merge's 404), so the document sets no upper bound it cannot keep.
EditedId = Annotated[int, Field(ge=1), NOT_TEXT]


class DeterminationOut(BaseModel):
    """What an occurrence is taken for: a person's word, else the models' most confident."""

    label: str | None
    score: float | None = Field(description="the model's confidence; null for a person's word")
    by: Literal["model", "person"]
    rejected: Literal["not_an_insect", "not_an_animal", "nothing_there"] | None = Field(
        default=None,
        description="a person rejected it (the label then says how): it counts nowhere",
    )


class OccurrenceOut(BaseModel):
    """One individual seen in consecutive photos of an event, by one pipeline."""

    id: int
    project_id: int
    deployment_id: int
    event_id: int
    pipeline: str = Field(description="the pipeline whose current results were tracked")
    first_seen: WallClock
    last_seen: WallClock
    detection_count: int
    best_detection_id: int = Field(
        description="the most confident detection; its crop is /annotations/{id}/crop"
    )
    determination: DeterminationOut

    @classmethod
    def of(cls, o: Occurrence) -> OccurrenceOut:
        return cls(
            id=o.id,
            project_id=o.project_id,
            deployment_id=o.deployment_id,
            event_id=o.event_id,
            pipeline=o.pipeline,
            first_seen=with_offset(o.first_seen_at, o.first_offset_minutes),
            last_seen=with_offset(o.last_seen_at, o.last_offset_minutes),
            detection_count=o.detection_count,
            best_detection_id=o.best_annotation_id,
            determination=DeterminationOut(
                label=o.label,
                score=o.score,
                by=o.determined_by.value,
                rejected=o.rejected,
            ),
        )


class SightingOut(BaseModel):
    """One detection of an occurrence, in the photo it is in."""

    annotation_id: int
    image_id: int
    captured_at: WallClock | None
    bbox: list[float] = Field(description="x1, y1, x2, y2 in pixels of the upright photo")
    label: str | None = Field(
        description="what names it: a terminal classification's label, else its own, else its "
        "surest classification's"
    )
    confidence: float | None = Field(description="the detection's own confidence")
    link_cost: float | None = Field(
        description="the tracking cost of its link to the detection before (0 alike, 4 "
        "unlike); null for the first"
    )

    @classmethod
    def of(cls, d: OccurrenceDetection) -> SightingOut:
        return cls(
            annotation_id=d.annotation_id,
            image_id=d.image_id,
            captured_at=(
                with_offset(d.captured_at, d.captured_offset_minutes) if d.captured_at else None
            ),
            bbox=list(d.box),
            label=d.label,
            confidence=d.confidence,
            link_cost=d.cost,
        )


class OccurrenceWithDetectionsOut(OccurrenceOut):
    """An occurrence with its detections in photo order."""

    detections: list[SightingOut]


class SplitIn(Input):
    """Which detections leave the occurrence, to make a new one."""

    detection_ids: list[EditedId] = Field(
        min_length=1,
        max_length=MAX_EDITED,
        description="annotation ids of some (not all) of the occurrence's detections",
    )


class MergeIn(Input):
    """Occurrences of the event, of one pipeline, to make one; the first keeps its id."""

    occurrence_ids: list[EditedId] = Field(min_length=2, max_length=MAX_EDITED)


class SplitOut(BaseModel):
    """The occurrence split, and the new one made of the detections that left it."""

    kept: OccurrenceOut
    new: OccurrenceOut
