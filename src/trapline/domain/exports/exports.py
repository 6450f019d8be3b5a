"""Exports of a project's images and results: formats, filters, life cycle."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Any, NamedTuple

from trapline.domain.ecology.reviews import Review
from trapline.domain.taxa.taxa import Taxon


class ExportFormat(StrEnum):
    """The file formats an export writes."""

    CSV = "csv"
    COCO = "coco"
    MEGADETECTOR = "megadetector"
    CAMTRAP_DP = "camtrap-dp"
    #: Darwin Core Archive: an occurrence per row, for GBIF's IPT.
    DWCA = "dwca"
    #: Antenna's simple occurrence table, as CSV and as JSON.
    OCCURRENCES_CSV = "occurrences-csv"
    OCCURRENCES_JSON = "occurrences-json"
    #: camtrapR's record table and camera operation, as CSV (docs/analysis.md).
    RECORD_TABLE = "record-table"
    CAMERA_OPERATION = "camera-operation"
    #: Named to fit the 16 characters an export's format is stored in.
    DETECTION_HISTORY = "detection-hist"

    @property
    def tabled(self) -> bool:
        """Whether the file is a table of the project's counts (its occurrences and the days
        its cameras ran), not a walk over its images and results."""
        return self in (
            ExportFormat.RECORD_TABLE,
            ExportFormat.CAMERA_OPERATION,
            ExportFormat.DETECTION_HISTORY,
        )

    @property
    def extension(self) -> str:
        """The file name ending of an export in this format."""
        return _EXTENSIONS[self.value]

    @property
    def per_occurrence(self) -> bool:
        """Whether the format writes a row per occurrence (not per detection)."""
        return self in (
            ExportFormat.DWCA,
            ExportFormat.OCCURRENCES_CSV,
            ExportFormat.OCCURRENCES_JSON,
        )

    def reads(self, filters: ExportFilters) -> OccurrenceReads:
        """What an export in this format reads of occurrences besides images and results:
        the formats with a row per detection write a person's determination of each
        detection's occurrence; Camtrap DP counts each event's occurrences too, unless it is
        of the event level only."""
        if self.per_occurrence:
            return OccurrenceReads(shown=True, detections=filters.judges_detections)
        if self is ExportFormat.CAMTRAP_DP:
            media = filters.observation_level != "event"
            return OccurrenceReads(by_event=True, of_detections=media)
        return OccurrenceReads(determined=True, frames=self is ExportFormat.COCO)

    @property
    def content_type(self) -> str:
        """The media type of an export in this format."""
        return {"csv": "text/csv", "zip": "application/zip"}.get(self.extension, "application/json")


_EXTENSIONS = {
    "csv": "csv", "coco": "json", "megadetector": "json", "camtrap-dp": "zip", "dwca": "zip",
    "occurrences-csv": "csv", "occurrences-json": "json", "record-table": "csv",
    "camera-operation": "csv", "detection-hist": "csv",
}  # fmt: skip


@dataclass(frozen=True)
class OccurrenceReads:
    """What an export reads of occurrences, a batch of images at a time. Occurrences come
    with their taxa (and the taxa's ancestors) and the identifications that determine them."""

    #: Each event's occurrences, the first time one of the event's images is read.
    by_event: bool = False
    #: The occurrences the batch's detections are in, by id.
    of_detections: bool = False
    #: Of those, the ones a person determined (the formats with a row per detection write
    #: the person's word on each of its detections).
    determined: bool = False
    #: The occurrences whose best detection is in the batch's images, by image, with those
    #: detections: each once, with its best photo, never more than the batch's detections.
    shown: bool = False
    #: Each image's place in its event (frame, the event's photos): COCO Camera Traps' sequences.
    frames: bool = False
    #: Each image's detections made in full; without, only counted (``ImageResult.counted``:
    #: the formats with a row per occurrence write none, unless a filter judges them).
    detections: bool = True


class ExportStatus(StrEnum):
    """Where an export is: ``queued → running → succeeded | failed | canceled``; a finished
    file is removed at its expiry (``expired``)."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def final(self) -> bool:
        """Whether nothing more happens to the export but its expiry."""
        return self not in (ExportStatus.QUEUED, ExportStatus.RUNNING)


#: Statuses an export can be canceled from.
CANCELABLE = (ExportStatus.QUEUED, ExportStatus.RUNNING)


@dataclass(frozen=True)
class ExportFilters:
    """Which images and results of a project an export takes; every field is optional."""

    deployment_id: int | None = None
    #: Capture dates, inclusive, on the cameras' wall clocks.
    date_from: date | None = None
    date_to: date | None = None
    collection_id: int | None = None
    job_id: int | None = None
    pipeline: str | None = None
    #: With ``pipeline``: only this version of it.
    pipeline_version: int | None = None
    #: Detections below this confidence are left out.
    min_confidence: float | None = None
    #: Only results a person reviewed.
    reviewed_only: bool = False
    #: CSV: a row for each image where nothing was found (or that was not processed).
    include_empty: bool = False
    #: Every run's results, not only the current ones (one set per image and pipeline).
    all_runs: bool = False
    #: Camtrap DP: ``event`` for one observation per event and label counting its
    #: occurrences; None for one per detection (``media``).
    observation_level: str | None = None
    #: The record table: camtrapR's ``minDeltaTime`` (minutes) and ``deltaTimeComparedTo``.
    min_delta_minutes: float | None = None
    delta_compared_to: str | None = None
    #: The camera operation and detection history: what a day without photos means.
    empty_days: str | None = None
    #: The detection history: its taxon and camtrapR's ``occasionLength``, ``day1``,
    #: ``output``, ``minActiveDaysPerOccasion`` and ``includeEffort``.
    taxon_id: int | None = None
    occasion_length: int | None = None
    day1: str | None = None
    output: str | None = None
    min_active_days: int | None = None
    include_effort: bool = False

    @property
    def judges_detections(self) -> bool:
        """Whether the filters keep a detection by what it is (its score, a review)."""
        return self.reviewed_only or self.min_confidence is not None

    def as_json(self) -> dict[str, Any]:
        """The filters as stored (only those set)."""
        out: dict[str, Any] = {}
        for name, value in self.__dict__.items():
            if value is None or value is False:
                continue
            out[name] = value.isoformat() if isinstance(value, date) else value
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ExportFilters:
        """Inverse of ``as_json``."""
        values = dict(data)
        for name in ("date_from", "date_to"):
            if values.get(name):
                values[name] = date.fromisoformat(values[name])
        return cls(**values)

    @property
    def narrows_analyses(self) -> bool:
        """Whether only some analyses count (a job's, a pipeline's)."""
        return self.job_id is not None or self.pipeline is not None


@dataclass(frozen=True)
class ExportCounts:
    """What an export wrote so far."""

    images: int = 0
    #: Detections and image-level classifications written.
    detections: int = 0
    #: Images processed with nothing found.
    empty: int = 0
    #: Images no analysis covers.
    unprocessed: int = 0
    #: Images whose analysis failed.
    failed: int = 0
    #: Images the format cannot hold (Camtrap DP: no deployment, coordinates or time).
    skipped: int = 0
    #: Rows of the main table (CSV rows, COCO annotations, observations, MegaDetector images).
    rows: int = 0

    def as_json(self) -> dict[str, int]:
        """The counts as stored."""
        return dict(self.__dict__)


@dataclass(frozen=True)
class Export:
    """One export of a project."""

    id: int
    project_id: int
    format: ExportFormat
    filters: ExportFilters
    status: ExportStatus
    created_by: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    expires_at: datetime | None
    #: Images the export takes in all (known once it runs) and those written so far.
    images_total: int | None
    images_done: int
    counts: dict[str, int] = field(default_factory=dict)
    #: Problems met on the way (an image the format could not hold...), the first few.
    errors: list[str] = field(default_factory=list)
    #: Why the export failed, when it did.
    error: str | None = None
    blob_key: str | None = None
    file_name: str | None = None
    size_bytes: int | None = None

    @property
    def progress(self) -> float:
        """From 0 to 1."""
        if self.status is ExportStatus.SUCCEEDED:
            return 1.0
        if not self.images_total:
            return 0.0
        return min(self.images_done / self.images_total, 1.0)


# What an export reads, a batch at a time: plain named tuples, as a million images make
# millions of them.


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


class TopFacts(NamedTuple):
    """An annotation without a parent as an export that only counts detections reads it
    (``OccurrenceReads.detections`` off): whether it is a detection, and its occurrence."""

    id: int
    analysis_id: int
    image_id: int
    type: str
    x1: float | None
    y1: float | None
    x2: float | None
    y2: float | None
    occurrence_id: int | None


class AlgorithmFacts(NamedTuple):
    """An algorithm results name, with its category map."""

    id: int
    key: str
    name: str
    version: int
    labels: tuple[str, ...]
    #: Per-label data of the category map (taxon rank, GBIF key...), in label order.
    data: tuple[dict[str, Any], ...]


class PipelineFacts(NamedTuple):
    """A pipeline version results name."""

    id: int
    slug: str
    version: int
    name: str


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
    #: (sorted as those are): the annotations without a parent, with their occurrences.
    tops: Iterator[TopFacts] = iter(())  # one shared empty iterator, never anything in it
