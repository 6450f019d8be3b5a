"""Request and response bodies of exports and imports."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictFloat, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from trapline.domain.exports.camera_operation import MAX_OCCASION_DAYS
from trapline.domain.exports.exports import Export, ExportFilters, ExportFormat, ExportStatus
from trapline.domain.exports.record_table import MAX_DELTA_MINUTES, DeltaReference
from trapline.protocol.base import Slug
from trapline.schemas.common import BodyId, Day, Input, Instant

Confidence = Annotated[StrictFloat, Field(ge=0, le=1)]
PipelineVersion = Annotated[int, Field(ge=0, le=2**31 - 1)]


class ExportIn(Input):
    format: ExportFormat = Field(
        description="csv, coco, megadetector, camtrap-dp, dwca, occurrences-csv, "
        "occurrences-json, record-table, camera-operation or detection-hist"
    )
    deployment_id: BodyId | None = None
    date_from: Day | None = Field(None, description="first capture date (inclusive)")
    date_to: Day | None = Field(None, description="last capture date (inclusive)")
    collection_id: BodyId | None = None
    job_id: BodyId | None = None
    pipeline: Slug | None = Field(None, description="results of this pipeline (slug) only")
    pipeline_version: PipelineVersion | None = None
    min_confidence: Confidence | None = Field(None, description="leave out weaker detections")
    reviewed_only: StrictBool = False
    include_empty: StrictBool = Field(
        False, description="CSV: a row for each image without detections too"
    )
    all_runs: StrictBool = Field(
        False,
        description="the results of every run, not only the current ones (for each image "
        "and pipeline, the latest completed run of the newest or pinned version)",
    )
    observation_level: Literal["media", "event"] = Field(
        "media",
        description="Camtrap DP: media (an observation per detection) or event (an "
        "observation per event and taxon, counting its occurrences)",
    )

    min_delta_minutes: Annotated[float, Field(ge=0, le=MAX_DELTA_MINUTES)] | None = Field(
        None,
        description="record-table: camtrapR's minDeltaTime, minutes a record of a species at a "
        "station must follow the reference by (default 0: every sighting is a record)",
    )
    delta_compared_to: DeltaReference | None = Field(
        None,
        description="record-table: camtrapR's deltaTimeComparedTo, lastRecord (default) or "
        "lastIndependentRecord",
    )
    remove_duplicate_records: StrictBool = Field(
        True,
        description="record-table, detection-hist: camtrapR's removeDuplicateRecords, one "
        "record for sightings of a species at a station in the same second (two individuals "
        "in one photo); false keeps each (with min_delta_minutes above 0 they are one anyway)",
    )

    empty_days: Literal["off", "operating"] | None = Field(
        None,
        description="camera-operation, detection-hist: a day without a photo between setup "
        "and retrieval is off (0, the default) or operating (1)",
    )
    setup_days: Literal["half", "whole"] | None = Field(
        None,
        description="camera-operation, detection-hist: a station's setup and retrieval days "
        "count half a day each (half, the default: camtrapR's rule, setup and retrieval at "
        "noon) or a whole day (whole)",
    )
    taxon_id: BodyId | None = Field(
        None, description="detection-hist (required): a taxon, with every taxon under it"
    )
    occasion_length: Annotated[int, Field(ge=1, le=MAX_OCCASION_DAYS)] | None = Field(
        None, description="detection-hist: days per occasion (default 1)"
    )
    day1: Literal["station", "survey"] | None = Field(
        None, description="detection-hist: occasions start at each station's setup or the "
        "survey's first day (default station)",
    )  # fmt: skip
    output: Literal["binary", "count"] | None = Field(
        None, description="detection-hist: binary (default) or count"
    )
    min_active_days: Annotated[int, Field(ge=1, le=MAX_OCCASION_DAYS)] | None = Field(
        None, description="detection-hist: cells with fewer operating days are NA"
    )
    include_effort: StrictBool = Field(
        False, description="detection-hist: each occasion's operating days too"
    )

    @field_validator("observation_level")
    @classmethod
    def _level_of_camtrap_dp(cls, level: str, info: ValidationInfo) -> str:
        chosen = info.data.get("format")
        if level == "event" and chosen is not None and chosen is not ExportFormat.CAMTRAP_DP:
            raise PydanticCustomError(
                "observation_level", "only a camtrap-dp export has an event level"
            )
        return level

    def filters(self) -> ExportFilters:
        values = self.model_dump(exclude={"format", "observation_level"})
        level = None if self.observation_level == "media" else self.observation_level
        compared = self.delta_compared_to.value if self.delta_compared_to else None
        values["delta_compared_to"] = compared
        return ExportFilters(**values, observation_level=level)


class ExportOut(BaseModel):
    id: int
    project_id: int
    format: ExportFormat
    status: ExportStatus
    filters: dict[str, object]
    progress: float = Field(description="0 to 1")
    images_total: int | None
    images_done: int
    counts: dict[str, int]
    errors: list[str]
    counted: list[str] = Field(
        description="what a counting export counts, a line per deployment: its pipeline and, "
        "when its photos' results are of several versions, the photos each version holds"
    )
    error: str | None
    file_name: str | None
    size_bytes: int | None
    created_by: int | None
    created_at: Instant
    started_at: Instant | None
    finished_at: Instant | None
    expires_at: Instant | None
    download: str | None = Field(description="where to download the file once it is ready")

    @classmethod
    def of(cls, e: Export) -> ExportOut:
        ready = e.status is ExportStatus.SUCCEEDED
        return cls(
            id=e.id,
            project_id=e.project_id,
            format=e.format,
            status=e.status,
            filters=e.filters.as_json(),
            progress=round(e.progress, 4),
            images_total=e.images_total,
            images_done=e.images_done,
            counts=e.counts,
            errors=e.errors,
            counted=e.counted,
            error=e.error,
            file_name=e.file_name,
            size_bytes=e.size_bytes,
            created_by=e.created_by,
            created_at=e.created_at,
            started_at=e.started_at,
            finished_at=e.finished_at,
            expires_at=e.expires_at,
            download=f"/api/v2/exports/{e.id}/download" if ready else None,
        )


class UnmatchedOut(BaseModel):
    file: str
    reason: str


class ImportOut(BaseModel):
    pipeline: str = Field(description="slug of the import pipeline the results are stored under")
    pipeline_version: int = Field(
        description="the version of it: each release of MegaDetector is a version of one "
        "pipeline (in the order imported); any other detector a pipeline of its own"
    )
    model: str = Field(description="what the file's detector was taken for, in words")
    images_in_file: int
    matched: int
    analyses_stored: int
    detections_stored: int
    already_imported: int = Field(description="matched images whose results were there already")
    failures: int = Field(description="entries the file marks as failed")
    threshold: float = Field(
        description="the score the imported model counts a box from: the one given, else the "
        "file's info.detector_metadata.typical_detection_threshold, else 0.2"
    )
    threshold_from: Literal["given", "file", "default"]
    below_threshold: int = Field(
        description="detections stored under the threshold: shown faint, counted nowhere"
    )
    empty_boxes: int
    unmatched: int
    unmatched_files: list[UnmatchedOut] = Field(description="the first 100 unmatched entries")
    events: int = Field(
        description="events (nights or sequences) holding the matched images; their "
        "occurrences are tracked again in the background"
    )
