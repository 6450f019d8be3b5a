"""What an export reads of a project, a batch of images at a time: plain named tuples, as a
million images make millions of them."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, NamedTuple

from trapline.domain.ecology.reviews import Review
from trapline.domain.taxa.taxa import Taxon


class ImageFacts(NamedTuple):
    """The facts of one image an export writes."""

    id: int
    deployment_id: int | None
    filename: str
    sha256: str
    width: int
    height: int
    content_type: str
    captured_at: datetime | None
    captured_offset_minutes: int | None
    event_id: int | None = None
    #: The UTC offset the file itself gave (None: read in the deployment's time zone).
    file_offset_minutes: int | None = None


class EventFacts(NamedTuple):
    """An event an export's images are in: its first and last capture time (wall clock and
    offset)."""

    id: int
    deployment_id: int
    starts_at: datetime
    start_offset_minutes: int
    ends_at: datetime
    end_offset_minutes: int


class OccurrenceFacts(NamedTuple):
    """An occurrence of an event, as exports write it."""

    id: int
    event_id: int
    pipeline: str
    label: str | None
    score: float | None
    #: ``model`` or ``person``.
    determined_by: str
    #: The taxon its determination names (None: its label is mapped to none).
    taxon_id: int | None = None
    #: The person whose identification determines it.
    identified_by: str | None = None
    disputed: bool = False
    deployment_id: int = 0
    #: Wall clocks of its first and last photo, with their UTC offsets.
    first_seen_at: datetime | None = None
    first_offset_minutes: int = 0
    last_seen_at: datetime | None = None
    last_offset_minutes: int = 0
    detection_count: int = 0
    best_annotation_id: int = 0
    #: The id exports publish for it (``OccurrenceRow.published_id``, else its own).
    published_id: int = 0


class IdentificationFacts(NamedTuple):
    """A person's word that determines an occurrence: the latest identification of it (not
    withdrawn), else the latest review of one of its detections."""

    occurrence_id: int
    #: ``identification`` or ``review``.
    kind: str
    made_at: datetime
    #: The person's name (their email when they gave none); None once their account is gone.
    person: str | None
    #: An identification's ``agreed_with``: ``model``, or the id of the one agreed with.
    agreed_with: str | None = None
    #: The email of the person whose identification it agreed with.
    agreed_with_email: str | None = None
    #: People whose identifications of it (not withdrawn) count.
    participants: int = 0


class BestDetectionFacts(NamedTuple):
    """An occurrence's best detection (its most confident): its box and photo, and the
    models' label of it (the box's own, else its most confident classification's)."""

    annotation_id: int
    image_id: int
    x1: float
    y1: float
    x2: float
    y2: float
    label: str | None
    score: float | None
    #: The algorithm that gave the label.
    algorithm_id: int | None


class AnalysisFacts(NamedTuple):
    """One analysis of an image."""

    id: int
    image_id: int
    pipeline_id: int | None
    job_id: int | None
    status: str
    error: str | None
    completed_at: datetime | None


class AnnotationFacts(NamedTuple):
    """One annotation of an analysis."""

    id: int
    analysis_id: int
    image_id: int
    type: str
    label: str | None
    confidence: float | None
    x1: float | None
    y1: float | None
    x2: float | None
    y2: float | None
    #: The annotation's ``data`` as JSON text, decoded only by those who need it.
    data: str | None
    parent_id: int | None
    algorithm_id: int | None
    ordering: int
    #: A classification that says it names the species (``"terminal": true`` in its data).
    terminal: bool


class TopFacts(NamedTuple):
    """An annotation without a parent as an export that only counts detections reads it
    (``OccurrenceReads.detections`` off): whether it is a detection."""

    id: int
    analysis_id: int
    image_id: int
    type: str
    x1: float | None
    y1: float | None
    x2: float | None
    y2: float | None


class TopCount(NamedTuple):
    """How many annotations without a parent one analysis made on an image that are
    detections by their shape (a box, or a label of the whole image): what an export that
    only counts detections reads of most of them (``Batch.top_counts``)."""

    image_id: int
    analysis_id: int
    made: int


class AlgorithmFacts(NamedTuple):
    """An algorithm results name, with its category map."""

    id: int
    key: str
    name: str
    version: int
    labels: tuple[str, ...]
    #: Per-label data of the category map (taxon rank, GBIF key...), in label order.
    data: tuple[dict[str, Any], ...]


class Batch(NamedTuple):
    """A batch of an export's images as read, with what belongs to them (records sorted by
    image, as the images are), and the reviews of the batch's span of image ids, oldest
    first."""

    images: list[ImageFacts]
    analyses: Iterator[AnalysisFacts]
    annotations: Iterator[AnnotationFacts]
    failures: dict[int, str]
    reviews: list[Review]
    #: The events of the batch's images, by id.
    events: dict[int, EventFacts]
    #: The occurrence of each detection of the batch that is in one.
    occurrence_of: dict[int, int]
    #: The occurrences of the batch's events not read before (``OccurrenceReads.by_event``),
    #: by event.
    occurrences: dict[int, list[OccurrenceFacts]]
    #: The occurrences of the batch's detections (``OccurrenceReads.of_detections``; with
    #: ``determined``, those a person determined), by id.
    linked: dict[int, OccurrenceFacts]
    #: The occurrences whose best detection is in the batch (``OccurrenceReads.shown``), by
    #: the image it is in.
    shown: dict[int, list[OccurrenceFacts]]
    #: Taxa the batch's occurrences name, and their ancestors, not read before.
    taxa: dict[int, Taxon]
    #: The person's word that determines each occurrence a person determined, by occurrence.
    identified: dict[int, IdentificationFacts]
    #: The best detection of each occurrence shown (``OccurrenceReads.shown``), by occurrence.
    best: dict[int, BestDetectionFacts]
    #: The taxon each of the best detections' labels names (None: none), the labels of
    #: earlier batches too.
    label_taxa: dict[str, int | None]
    #: Each image's frame in its event (from 0, in time order) and the event's photos
    #: (``OccurrenceReads.frames``), by image.
    frames: dict[int, tuple[int, int]] = {}  # one shared empty dict, never changed
    #: Without ``OccurrenceReads.detections``, in place of ``annotations`` and ``occurrence_of``
    #: (sorted as those are): the annotations without a parent counted by image and analysis,
    #: and those a person reviewed one by one, with their occurrences (a review may reject one).
    top_counts: Iterator[TopCount] = iter(())  # shared empty iterators, never anything in them
    tops: Iterator[TopFacts] = iter(())
