"""Results workers post: detections and classifications per image, errors, and the answer."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    Tag,
)
from pydantic_core import PydanticCustomError

from trapline.protocol.base import (
    MAX_CLASSIFICATIONS,
    MAX_DETECTIONS,
    MAX_FEATURES,
    MAX_LABELS,
    MAX_RESULT_ITEMS,
    Finite,
    JsonValue,
    ReplySubject,
    Slug,
    WireMessage,
    WireModel,
    WireName,
    WireUrl,
)
from trapline.protocol.pipelines import ClientInfo


class BoundingBox(WireModel):
    """A box in pixels of the original image, top-left origin."""

    x1: Finite
    y1: Finite
    x2: Finite
    y2: Finite


class AlgorithmReference(WireModel):
    """Which registered algorithm produced something."""

    name: WireName
    key: WireName


class ClassificationResponse(WireModel):
    """One classifier's verdict on a detection."""

    classification: WireName
    # Long lists stop at their first bad value (``fail_fast``): only the first problem is
    # reported, and collecting one per value of a long vector would cost ~700 bytes each.
    labels: list[WireName] | None = Field(None, max_length=MAX_LABELS, fail_fast=True)
    scores: list[Finite] = Field(default_factory=list, max_length=MAX_LABELS, fail_fast=True)
    logits: list[Finite] | None = Field(None, max_length=MAX_LABELS, fail_fast=True)
    #: The classifier's feature vector of the crop (AMI sends 2,048 values): kept with the
    #: classification, and what tracking compares detections by (``domain/ecology/tracking.py``).
    features: list[Finite] | None = Field(None, max_length=MAX_FEATURES, fail_fast=True)
    #: Seconds; a time that is not finite is stored as unknown.
    inference_time: StrictFloat | None = None
    algorithm: AlgorithmReference
    terminal: StrictBool = True
    timestamp: datetime | None = None


class DetectionResponse(WireModel):
    """One object found in an image, with its classifications."""

    source_image_id: WireName
    bbox: BoundingBox | None = None
    #: The detector's confidence in the box (0 to 1), stored as the box's own confidence. A
    #: trapline field: Antenna ignores it and keeps the score in the detector's classification.
    score: Finite | None = None
    #: Seconds; a time that is not finite is stored as unknown.
    inference_time: StrictFloat | None = None
    algorithm: AlgorithmReference
    timestamp: datetime | None = None
    crop_image_url: WireUrl | None = None
    classifications: list[ClassificationResponse] = Field(
        default_factory=list, max_length=MAX_CLASSIFICATIONS
    )


class SourceImageResponse(WireModel):
    """The image a result is about."""

    id: WireName
    url: WireUrl | None = None


class PipelineResultsResponse(WireModel):
    """A pipeline's results for (usually) one image."""

    pipeline: Slug
    #: Seconds; a time that is not finite is stored as unknown.
    total_time: StrictFloat = 0.0
    source_images: list[SourceImageResponse] = Field(
        default_factory=list, max_length=MAX_DETECTIONS, fail_fast=True
    )
    detections: list[DetectionResponse] = Field(
        default_factory=list, max_length=MAX_DETECTIONS, fail_fast=True
    )
    errors: (
        Annotated[list[JsonValue], Field(max_length=MAX_DETECTIONS, fail_fast=True)]
        | WireMessage
        | None
    ) = None
    #: Why a result has no detections when the pipeline knows (e.g. "not a light-trap
    #: photo"): kept with the analysis and shown with it. Not an error: the image is done.
    note: WireMessage | None = None


class ResultError(WireModel):
    """A worker's report that it could not process an image."""

    error: WireMessage
    image_id: WireName | None = None


class ResultItem(WireModel):
    """One task's outcome. Both fields stay raw so one bad item can't spoil the request."""

    reply_subject: Any = None
    result: Any = None


class ResultsRequest(WireModel):
    """``POST /jobs/{id}/result/``."""

    results: list[ResultItem] = Field(max_length=MAX_RESULT_ITEMS)
    client_info: ClientInfo | None = None


def _result_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "error" if "error" in value else "result"
    return "error" if isinstance(value, ResultError) else "result"


#: A result item's ``result``: a pipeline result, or an error report when it has ``error``.
ResultOutcome = Annotated[
    Annotated[PipelineResultsResponse, Tag("result")] | Annotated[ResultError, Tag("error")],
    Discriminator(_result_kind),
]


def _not_sent(_value: Any) -> None:
    raise PydanticCustomError("error_sent", "a pipeline result has no error")


class _PipelineResultWithoutError(PipelineResultsResponse):
    """A pipeline result with no ``error`` key: what ``ResultOutcome`` tags "result"."""

    error: Annotated[None, AfterValidator(_not_sent), Field(exclude=True)] = None


#: ``ResultOutcome`` for a post typed whole: the same choice without the callable
#: discriminator, which hands it each result converted to Python objects first (a tenth of
#: the post's typing). A result with ``error`` is not a pipeline result, so it is an error
#: report or nothing, as the discriminator decides.
_WholeOutcome = Annotated[
    _PipelineResultWithoutError | ResultError, Field(union_mode="left_to_right")
]


class TypedResultItem(WireModel):
    """A result item whose result is fully typed: the common, all-valid case."""

    reply_subject: ReplySubject
    result: _WholeOutcome


class TypedResultsRequest(WireModel):
    """``POST /jobs/{id}/result/`` when every item is well formed.

    Validating the whole body in one pass is several times faster than item by item; a body
    that fails it is read again as a ``ResultsRequest`` so each bad item gets its own answer.
    """

    results: list[TypedResultItem] = Field(max_length=MAX_RESULT_ITEMS)
    client_info: ClientInfo | None = None


ItemStatus = Literal["saved", "duplicate", "failed", "rejected"]


class ResultItemStatus(BaseModel):
    """What became of one result item."""

    reply_subject: str | None
    status: ItemStatus
    task_id: str | None = None
    detail: str | None = None


class ResultsResponse(BaseModel):
    """The answer to a results post, one status per item."""

    status: Literal["accepted"] = "accepted"
    job_id: int
    results_queued: int
    tasks: list[ResultItemStatus]


#: Item statuses a platform answers when it holds a result: stored now (``saved``,
#: ``duplicate``: trapline) or taken in to be stored in the background (``queued``: Antenna).
DELIVERED = frozenset({"saved", "duplicate", "queued"})


class PostedItem(WireModel):
    """One item of a results answer as a worker reads it, from trapline or Antenna."""

    reply_subject: str | None = None
    status: str
    task_id: str | None = None
    detail: str | None = None


class PostedResults(WireModel):
    """A results answer as a worker reads it: trapline's ``ResultsResponse``, or Antenna's,
    which answers ``{"status": "accepted", "job_id", "results_queued", "tasks": [{…,
    "status": "queued", "task_id": <Celery id>}]}`` and may leave ``tasks`` out."""

    status: str
    job_id: int | None = None
    results_queued: int | None = None
    tasks: list[PostedItem] = Field(default_factory=list)

    def statuses(self, posted: int) -> dict[str, int]:
        """How many of the ``posted`` items got each status (an accepted answer without
        per-item statuses counts every item as ``queued``)."""
        counts: dict[str, int] = {}
        for item in self.tasks:
            counts[item.status] = counts.get(item.status, 0) + 1
        if not self.tasks and self.status == "accepted":
            counts["queued"] = posted
        return counts
