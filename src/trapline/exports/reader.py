"""What an export writes, read a batch of images at a time: each image with its results.

Every format takes the same ``ImageResult`` stream, so filters, the choice of label and
confidence, and people's words (a review of a detection: ``review.py``; a person's
determination of its occurrence: ``determination.py``) are decided here once.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from enum import StrEnum
from itertools import groupby
from operator import attrgetter, itemgetter
from typing import Any, Generic, NamedTuple, Protocol, TypeVar, cast

from trapline.domain.ecology.reviews import Review
from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import (
    AlgorithmFacts,
    AnalysisFacts,
    AnnotationFacts,
    Batch,
    BestDetectionFacts,
    EventFacts,
    IdentificationFacts,
    ImageFacts,
    OccurrenceFacts,
    TopCount,
    TopFacts,
)
from trapline.domain.pipelines.pipelines import PipelineFacts
from trapline.exports.annotation_data import data_of, rle_of
from trapline.exports.box_naming import box_label, box_naming
from trapline.exports.context import ExportContext
from trapline.exports.determination import (
    Determination,
    Determined,
    determinations,
    determined,
)
from trapline.exports.review import BatchReviews, HumanLabel, batch_reviews, human_label

__all__ = [
    "Detection", "Determination", "Determinations", "Determined", "ExportContext",
    "ImageResult", "ImageState", "Ranked", "ranked", "results",
]  # fmt: skip

#: What a lookup of nothing answers (one shared empty list, never changed).
_NONE: list[Any] = []
#: A record's image id.
_IMAGE_ID = attrgetter("image_id")
#: A detection's box: x1, y1, x2, y2.
_Box = tuple[float, float, float, float]
#: A ``Ranked``'s score (never None where sorted).
_SCORE = itemgetter(1)


class ImageState(StrEnum):
    """What the analyses an export takes say about an image."""

    #: At least one completed analysis (with or without detections).
    PROCESSED = "processed"
    #: Only failed (or unfinished) analyses.
    FAILED = "failed"
    #: No analysis.
    UNPROCESSED = "unprocessed"


class Ranked(NamedTuple):
    """A label and its score."""

    label: str
    score: float | None


class Detection(NamedTuple):
    """A detection (with a box) or an image-level classification (without), ready to write."""

    annotation_id: int
    analysis_id: int
    #: Pixels of the stored image, top-left origin: x1, y1, x2, y2.
    box: tuple[float, float, float, float] | None
    #: The detector's own category (``animal``...), when it gave one.
    category: str | None
    #: The detector's score, else the label's.
    confidence: float | None
    #: The final label: a person's, else the classifier's, else the detector's category.
    label: str | None
    label_confidence: float | None
    #: The classification that named the object (its top labels: ``ranked``).
    classification: AnnotationFacts | None
    detector: AlgorithmFacts | None
    classifier: AlgorithmFacts | None
    pipeline: PipelineFacts | None
    completed_at: datetime | None
    #: COCO run-length encoding of the object's mask, where the pipeline gave one.
    rle: dict[str, Any] | None
    human: HumanLabel | None
    #: Set for a box a person drew where the models found nothing (``annotation_id`` is 0).
    review_id: int | None = None
    #: The occurrence tracking put the detection in, if any.
    occurrence_id: int | None = None
    #: A person's determination of that occurrence, when a person made it.
    determined: Determined | None = None
    #: What that occurrence is determined as, and by whom (a person's or the models').
    determination: Determination | None = None
    #: A stage or a person said nothing of interest is there (``no_object``): counted nowhere.
    no_object: bool = False

    @property
    def key(self) -> str:
        """The detection's id in an export: its annotation's, or ``review-N`` for a drawn box."""
        return str(self.annotation_id) if self.review_id is None else f"review-{self.review_id}"


class Determinations(NamedTuple):
    """What a batch read about its occurrences besides their facts (``OccurrenceReads``),
    shared by the batch's images."""

    #: The occurrences of the batch's detections, by id.
    linked: dict[int, OccurrenceFacts]
    #: The person's word that determines an occurrence a person determined, by occurrence.
    identified: dict[int, IdentificationFacts]
    #: Each occurrence's best detection, by occurrence.
    best: dict[int, BestDetectionFacts]
    #: The taxon each of the best detections' labels names (None: none).
    label_taxa: dict[str, int | None]


#: What a batch that read nothing about occurrences knows (never changed).
_NO_DETERMINATIONS = Determinations({}, {}, {}, {})


class ImageResult(NamedTuple):
    """One image and what the export takes of its results."""

    image: ImageFacts
    state: ImageState
    detections: list[Detection]
    #: Why the image's analysis failed (FAILED only).
    failure: str | None
    #: The image's event, if it is in one.
    event: EventFacts | None = None
    #: The occurrences of the image's event, with the first image of the event read
    #: (``OccurrenceReads.by_event``).
    occurrences: list[OccurrenceFacts] = _NONE
    determinations: Determinations = _NO_DETERMINATIONS
    #: The occurrences whose best detection is in this image (``OccurrenceReads.shown``).
    shown: list[OccurrenceFacts] = _NONE
    #: The image's place in its event: its frame (from 0, in time order) and the event's
    #: photos (``OccurrenceReads.frames``).
    frame: tuple[int, int] | None = None
    #: Where the detections are only counted (``OccurrenceReads.detections`` off, and
    #: ``detections`` empty): how many there are.
    counted: int | None = None

    @property
    def detection_count(self) -> int:
        """The image's detections: those made, or those counted."""
        return len(self.detections) if self.counted is None else self.counted


def results(
    batch: Batch, context: ExportContext, *, detections: bool = True
) -> Iterator[ImageResult]:
    """Each image of a batch with what the export takes of its results, made as the writer
    takes it: a writer's records die young, where a batch of them would outlive the garbage
    collector's young generations (its full collections were a fifth of an export). Without
    ``detections`` (the batch read only annotations without a parent), an image's detections
    are counted (``ImageResult.counted``), not made."""
    analyses, annotations = _ByImage(batch.analyses), _ByImage(batch.annotations)
    counts, tops = _ByImage(batch.top_counts), _ByImage(batch.tops)
    reviews = batch_reviews(batch.reviews)
    failures, drawn = batch.failures, reviews.drawn
    link, events, occurrences = batch.occurrence_of, batch.events, batch.occurrences
    shown, frames = batch.shown, batch.frames
    if batch.taxa:
        context.taxa.update(batch.taxa)
    said = determined(batch.linked, batch.identified, context.taxa) if batch.identified else {}
    made_as = determinations(batch.linked, batch.identified, context.taxa) if batch.linked else {}
    known = (
        Determinations(batch.linked, batch.identified, batch.best, batch.label_taxa)
        if batch.linked or batch.identified or batch.best
        else _NO_DETERMINATIONS
    )
    for image in batch.images:
        found = analyses.take(image.id)
        done = [a for a in found if a.status == "completed"]
        boxes = drawn.get(image.id, _NONE) if drawn else _NONE
        state = _state(found, done, image.id in failures, bool(boxes))
        made: list[Detection] = _NONE
        counted = None
        if detections:
            made = _detections(
                done, annotations.take(image.id), reviews, context, link, said, made_as
            )
            if boxes:
                made += [_drawn(r) for r in boxes]
        else:
            counted = _counted(
                done, counts.take(image.id), tops.take(image.id), reviews, len(boxes)
            )
        event = events.get(image.event_id) if image.event_id is not None else None
        yield ImageResult(
            image,
            state,
            made,
            _failure(found, failures.get(image.id)) if state is ImageState.FAILED else None,
            event,
            occurrences.get(event.id, _NONE) if event is not None else _NONE,
            known,
            shown.get(image.id, _NONE) if shown else _NONE,
            frames.get(image.id) if frames else None,
            counted,
        )


def _state(
    found: list[AnalysisFacts], done: list[AnalysisFacts], failed: bool, drawn: bool
) -> ImageState:
    """What an image's analyses (``found``, ``done`` of them completed) say of it; ``failed``:
    a failure is recorded for it; ``drawn``: a person drew a box on it (so looked at it)."""
    if done:
        return ImageState.PROCESSED
    if found or failed:
        return ImageState.FAILED
    return ImageState.PROCESSED if drawn else ImageState.UNPROCESSED


def _failure(found: list[AnalysisFacts], recorded: str | None) -> str:
    """Why a failed image's analysis failed."""
    return recorded or next((a.error for a in found if a.error), None) or "analysis failed"


def _detections(
    done: list[AnalysisFacts],
    notes: list[AnnotationFacts],
    reviews: BatchReviews,
    context: ExportContext,
    link: dict[int, int],
    said: dict[int, Determined],
    made_as: dict[int, Determination],
) -> list[Detection]:
    """The detections of an image's completed analyses (``notes``: the image's annotations),
    each with its occurrence (``link``), a person's determination of that (``said``) and
    what it is determined as (``made_as``)."""
    if not done or not notes:
        return []
    children: dict[int, list[AnnotationFacts]] = {}
    tops: dict[int, list[AnnotationFacts]] = {}  # by analysis
    for n in notes:
        if n.parent_id is not None:
            children.setdefault(n.parent_id, []).append(n)
        else:
            tops.setdefault(n.analysis_id, []).append(n)
    filters, algorithms, humans = context.filters, context.algorithms, reviews.labels
    narrow = filters.reviewed_only or filters.min_confidence is not None
    found = []
    for analysis in done:
        pipeline = context.pipeline_of(analysis)
        for top in tops.get(analysis.id, _NONE):
            occurrence = link.get(top.id) if link else None
            word = said.get(occurrence) if said and occurrence is not None else None
            made = _detection(
                top, children.get(top.id, _NONE), analysis, pipeline, algorithms, humans,
                occurrence, word, made_as.get(occurrence) if made_as and occurrence else None,
                context.hidden_labels,
            )  # fmt: skip
            if made is not None and (not narrow or _kept(made, filters)):
                found.append(made)
    return found


def _counted(
    done: list[AnalysisFacts],
    counts: list[TopCount],
    reviewed: list[TopFacts],
    reviews: BatchReviews,
    drawn: int,
) -> int:
    """How many detections ``_detections`` would make of an image's annotations without a
    parent (``counts``: those of a detection's shape, by analysis; ``reviewed``: those a
    person reviewed), with the boxes a person drew on it."""
    if not done or not counts:
        return drawn
    analyses, humans = {a.id for a in done}, reviews.labels
    made = sum(count.made for count in counts if count.analysis_id in analyses)
    for top in reviewed:  # counted by their shape, unless a person rejected them
        human = humans.get(top.id) if humans else None
        if top.analysis_id in analyses and _stands(top, None) and not _stands(top, human):
            made -= 1
    return made + drawn


def _stands(top: AnnotationFacts | TopFacts, human: HumanLabel | None) -> bool:
    """Whether an annotation without a parent is a detection an export writes: one a person
    did not reject, a box or a label of the whole image."""
    if human is not None and human.rejected:
        return False
    return top.type == "classification" or None not in (top.x1, top.y1, top.x2, top.y2)


class _OfImage(Protocol):
    """A record of one image's."""

    @property
    def image_id(self) -> int:
        """The image's id."""
        ...


_Record = TypeVar("_Record", bound=_OfImage)


class _ByImage(Generic[_Record]):
    """Records sorted by image id, taken an image at a time as the batch's images (sorted the
    same way) go by."""

    def __init__(self, records: Iterator[_Record]) -> None:
        self._groups: Iterator[tuple[int, Iterator[_Record]]] = groupby(records, key=_IMAGE_ID)
        self._image_id: int | None
        self._group: Iterator[_Record] | None
        self._image_id, self._group = next(self._groups, (None, None))

    def take(self, image_id: int) -> list[_Record]:
        """The records of this image, the next in order (never change the list: an image
        without records shares one empty list)."""
        if self._image_id != image_id or self._group is None:
            return _NONE
        found = list(self._group)
        self._image_id, self._group = next(self._groups, (None, None))
        return found


def _drawn(review: Review) -> Detection:
    """A box a person drew, as a detection classified by that person."""
    box = review.box
    assert box is not None  # a missing-box review always has one
    return Detection(
        0, 0, (box.x1, box.y1, box.x2, box.y2), None, None, review.label, None, None,
        None, None, None, review.created_at, None, human_label(review), review.id,
    )  # fmt: skip


def _kept(d: Detection, filters: ExportFilters) -> bool:
    """Whether the filters on results keep a detection: a person's word on it (a review) or
    on its occurrence (a determination) keeps it whatever its score."""
    person = d.human is not None or d.determined is not None
    if filters.reviewed_only and not person:
        return False
    if filters.min_confidence is not None and not person:
        return d.confidence is not None and d.confidence >= filters.min_confidence
    return True


def _detection(
    top: AnnotationFacts,
    kids: list[AnnotationFacts],
    analysis: AnalysisFacts,
    pipeline: PipelineFacts | None,
    algorithms: dict[int, AlgorithmFacts],
    humans: dict[int, HumanLabel],
    occurrence_id: int | None = None,
    determined: Determined | None = None,
    determination: Determination | None = None,
    hidden: frozenset[str] = frozenset(),
) -> Detection | None:
    """A detection of a box or an image-level label, in its occurrence (if any) and with a
    person's determination of that; None when a person rejected it or it has no whole box."""
    human = humans.get(top.id) if humans else None
    if not _stands(top, human):
        return None
    algorithm = algorithms.get(top.algorithm_id) if top.algorithm_id else None
    if top.type == "classification":  # an image-level label
        label = human.label if human and human.label else top.label
        return Detection(
            top.id, analysis.id, None, None, top.confidence, label, top.confidence, top,
            None, algorithm, pipeline, analysis.completed_at, None, human, None, occurrence_id,
            determined, determination,
        )  # fmt: skip
    box = cast(_Box, (top.x1, top.y1, top.x2, top.y2))  # ``_stands``: it has all four
    own, chosen, refused = box_naming(top, kids, hidden)
    category = top.label if top.label is not None or own is None else own.label
    label, label_confidence, nothing = box_label(top, own, chosen, refused, human, hidden)
    detected = top.confidence if top.confidence is not None or own is None else own.confidence
    confidence = detected if detected is not None else label_confidence
    classifier = algorithms.get(chosen.algorithm_id) if chosen and chosen.algorithm_id else None
    rle = rle_of(top.data) if top.data else None
    return Detection(
        top.id, analysis.id, box, category, confidence, label, label_confidence, chosen,
        algorithm, classifier, pipeline, analysis.completed_at, rle, human, None, occurrence_id,
        determined, determination, nothing,
    )  # fmt: skip


def ranked(d: Detection) -> tuple[Ranked, ...]:
    """The top labels of a detection's classification, best first."""
    c = d.classification
    if c is None:
        return ()
    data = data_of(c.data)
    labels, scores = data.get("labels") or [], data.get("scores") or []
    if labels and len(labels) == len(scores):
        pairs = [Ranked(str(x), float(s)) for x, s in zip(labels, scores, strict=True)]
        return tuple(sorted(pairs, key=_SCORE, reverse=True))
    return (Ranked(c.label, c.confidence),) if c.label is not None else ()
