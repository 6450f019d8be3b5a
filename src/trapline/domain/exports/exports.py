"""Exports of a project's images and results: formats, filters, life cycle."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime
from enum import StrEnum
from typing import Any


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
    def names_paths(self) -> bool:
        """Whether the file names each photo by its path in a folder-per-deployment copy
        (docs/exports.md, "Paths")."""
        return self in (ExportFormat.COCO, ExportFormat.MEGADETECTOR, ExportFormat.CAMTRAP_DP)

    @property
    def per_occurrence(self) -> bool:
        """Whether the format writes a row per occurrence (not per detection)."""
        return self in (
            ExportFormat.DWCA,
            ExportFormat.OCCURRENCES_CSV,
            ExportFormat.OCCURRENCES_JSON,
        )

    @property
    def counts(self) -> bool:
        """Whether the file counts individuals (occurrences) rather than lists results."""
        return self.per_occurrence or self in (
            ExportFormat.CAMTRAP_DP,
            ExportFormat.RECORD_TABLE,
            ExportFormat.DETECTION_HISTORY,
        )

    def reads(self, filters: ExportFilters) -> OccurrenceReads:
        """What an export in this format reads of occurrences besides images and results:
        the formats with a row per detection write the determination of each detection's
        occurrence; Camtrap DP counts each event's occurrences too, unless it is of the event
        level only."""
        if self.per_occurrence:
            return OccurrenceReads(shown=True, detections=filters.judges_detections)
        if self is ExportFormat.CAMTRAP_DP:
            media = filters.observation_level != "event"
            return OccurrenceReads(by_event=True, of_detections=media)
        coco = self is ExportFormat.COCO
        return OccurrenceReads(
            of_detections=True,
            frames=coco,
            annotation_data=coco or self is ExportFormat.MEGADETECTOR,
        )

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
    #: The occurrences the batch's detections are in, by id (the formats with a row per
    #: detection write each one's determination on its detections).
    of_detections: bool = False
    #: The occurrences whose best detection is in the batch's images, by image, with those
    #: detections: each once, with its best photo, never more than the batch's detections.
    shown: bool = False
    #: Each image's place in its event (frame, the event's photos): COCO Camera Traps' sequences.
    frames: bool = False
    #: Each image's detections made in full; without, only counted (``ImageResult.counted``:
    #: the formats with a row per occurrence write none, unless a filter judges them).
    detections: bool = True
    #: Each annotation's ``data`` (COCO's masks, MegaDetector's ranked labels); the other
    #: formats write nothing of it, and reading it was a tenth of their annotations' statement
    #: (a fifth on PostgreSQL, which writes each one's JSON out as text).
    annotation_data: bool = False


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
    #: The record table: camtrapR's ``minDeltaTime`` (minutes), ``deltaTimeComparedTo`` and
    #: ``removeDuplicateRecords``.
    min_delta_minutes: float | None = None
    delta_compared_to: str | None = None
    remove_duplicate_records: bool = True
    #: The camera operation and detection history: what a day without photos means, and
    #: what setup and retrieval days count (``half``, the default, or ``whole``).
    empty_days: str | None = None
    setup_days: str | None = None
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
        """The filters as stored (only those set otherwise than by default)."""
        out: dict[str, Any] = {}
        for each in fields(self):
            value = getattr(self, each.name)
            if value is None or value is each.default:
                continue
            out[each.name] = value.isoformat() if isinstance(value, date) else value
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
    #: What it counts, a line per deployment, when its format counts (``ExportFormat.counts``).
    counted: list[str] = field(default_factory=list)
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
