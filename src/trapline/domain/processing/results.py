"""What models found: analyses of images and their annotations."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, NamedTuple


class AnnotationType(StrEnum):
    """Kinds of annotation."""

    BOUNDING_BOX = "bounding_box"
    CLASSIFICATION = "classification"
    SEGMENTATION = "segmentation"
    MASK = "mask"
    HEATMAP = "heatmap"
    KEYPOINT = "keypoint"
    CUSTOM = "custom"


class AnalysisStatus(StrEnum):
    """Where an analysis is."""

    QUEUED = "queued"
    PROCESSING = "processing"
    COMPLETED = "completed"
    FAILED = "failed"


# Boxes and drafts are named tuples: a worker's batch makes hundreds of them, and a tuple is
# built in a fraction of a frozen dataclass's time.


class Box(NamedTuple):
    """A box in pixels of the stored image, top-left origin."""

    x1: float
    y1: float
    x2: float
    y2: float


class SourceBox(NamedTuple):
    """A box of another pipeline's current result, given to a job's pipeline to classify."""

    image_id: int
    box: Box
    #: The box's own confidence (its detector's score), when it has one.
    confidence: float | None
    algorithm_name: str
    algorithm_key: str
    #: The box's own annotation (where its features are read, for a refit).
    annotation_id: int


class AnnotationDraft(NamedTuple):
    """An annotation about to be stored; ``children`` hang under it (classifications)."""

    type: AnnotationType
    label: str | None
    confidence: float | None
    box: Box | None
    algorithm_id: int | None
    data: dict[str, Any] | None = None
    children: tuple[AnnotationDraft, ...] = ()
    #: An artifact the annotation stands for (heatmap, mask); callback annotations only.
    storage_key: str | None = None
    #: Position among its siblings; None: its place in the list.
    ordering: int | None = None
    #: Canonical digest, unique per analysis (callback annotations); None: not deduplicated.
    digest: str | None = None
    #: A classification's feature vector, packed (``features.packed``).
    features: bytes | None = None


class ResultTarget(NamedTuple):
    """What a worker's result for a task is checked against: the task's job and image."""

    task_id: int
    job_id: int
    image_id: int
    width: int
    height: int


#: Longest note kept with an analysis (why it found nothing); longer ones are cut.
MAX_NOTE = 1_000


class AnalysisDraft(NamedTuple):
    """A completed analysis of one image from one task, about to be stored."""

    task_id: int | None
    image_id: int
    total_time: float | None
    worker: str | None
    annotations: tuple[AnnotationDraft, ...] = ()
    #: Why the pipeline found nothing, when it said (at most MAX_NOTE characters).
    note: str | None = None


@dataclass(frozen=True)
class Annotation:
    """A stored annotation."""

    id: int
    analysis_id: int
    image_id: int
    type: AnnotationType
    label: str | None
    confidence: float | None
    box: Box | None
    data: dict[str, Any] | None
    parent_id: int | None
    algorithm_id: int | None
    ordering: int
    storage_key: str | None = None


@dataclass(frozen=True)
class Analysis:
    """A stored pipeline run on one image, with its annotations."""

    id: int
    image_id: int
    job_id: int | None
    pipeline_id: int | None
    pipeline_slug: str | None
    pipeline_version: int | None
    source: str
    status: AnalysisStatus
    error: str | None
    total_time: float | None
    created_at: datetime
    completed_at: datetime | None
    annotations: list[Annotation] = field(default_factory=list)
    #: Why a completed analysis found nothing, when its pipeline said.
    note: str | None = None
    # What an external pipeline says of its run (callback analyses).
    model_name: str | None = None
    model_version: str | None = None
    parameters: dict[str, Any] | None = None
    provenance: dict[str, Any] | None = None
    requested_by_id: int | None = None
    project_id: int | None = None
    updated_at: datetime | None = None

    @property
    def made_by(self) -> str:
        """What made it, with its version: "moth-blobs v2", an external model's name and
        version, else its source."""
        if self.pipeline_slug is not None:
            return made(self.pipeline_slug, self.pipeline_version)
        if self.model_name is not None:
            return f"{self.model_name} {self.model_version or ''}".strip()
        return self.source


@dataclass(frozen=True)
class AnnotationFilter:
    """Which annotations of a project to list."""

    type: AnnotationType | None = None
    label: str | None = None
    min_confidence: float | None = None
    job_id: int | None = None
    deployment_id: int | None = None
    captured_after: datetime | None = None
    captured_before: datetime | None = None
    #: Model name of the annotations' analyses (callback analyses).
    model_name: str | None = None


def made(pipeline: str, version: int | None) -> str:
    """A pipeline with its version, as pages name what made a result: "moth-blobs v2"."""
    return pipeline if version is None else f"{pipeline} v{version}"
