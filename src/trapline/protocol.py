"""Wire models of the worker protocol (Antenna processing-service API v2 compatible).

The single source of the JSON contract for both the platform and the worker. Incoming models
ignore unknown keys, as AMI workers send extras (``config``, ``deployments``…); ids that AMI
workers read as strings are strings here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag
from pydantic_core import SchemaValidator


class WireModel(BaseModel):
    """Base of protocol models: unknown keys are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


class CategoryMap(WireModel):
    """Labels of a classifier in model-output order, with optional per-label data."""

    data: list[dict[str, Any]] = Field(default_factory=list)
    labels: list[str] = Field(default_factory=list)
    version: str | None = None
    description: str | None = None
    uri: str | None = None


class AlgorithmConfig(WireModel):
    """One model or processing step of a pipeline."""

    name: str
    key: str
    description: str | None = None
    task_type: str | None = None
    version: int = 1
    version_name: str | None = None
    uri: str | None = None
    #: SHA-256 of the weights file, when the worker knows it.
    weights_sha256: str | None = None
    category_map: CategoryMap | None = None


class PipelineStageParam(WireModel):
    """A named parameter of a pipeline stage."""

    name: str
    key: str
    category: str = "default"


class PipelineStage(WireModel):
    """A step of a pipeline as shown to users."""

    key: str
    name: str
    params: list[PipelineStageParam] = Field(default_factory=list)
    description: str | None = None


class PipelineConfig(WireModel):
    """A pipeline a processing service offers."""

    name: str
    slug: str = Field(min_length=1, max_length=200)
    version: int = 1
    description: str | None = None
    algorithms: list[AlgorithmConfig] = Field(default_factory=list)
    stages: list[PipelineStage] = Field(default_factory=list)


class ClientInfo(WireModel):
    """Who is calling: one worker process."""

    model_config = ConfigDict(extra="allow")

    hostname: str | None = None
    software: str | None = None
    version: str | None = None
    platform: str | None = None
    pid: int | None = None
    pipelines: list[str] | None = None
    name: str | None = None


class PipelineRegistration(WireModel):
    """``POST /projects/{id}/pipelines/``: a pull-mode service and its pipelines."""

    processing_service_name: str | None = Field(None, max_length=255)
    pipelines: list[PipelineConfig] = Field(default_factory=list)
    client_info: ClientInfo | None = None


class PipelineRegistrationResponse(BaseModel):
    """What registration created."""

    timestamp: datetime
    success: bool = True
    error: str | None = None
    processing_service_id: int
    pipelines: list[PipelineConfig] = Field(default_factory=list)
    pipelines_created: list[str] = Field(default_factory=list)
    pipelines_updated: list[str] = Field(default_factory=list)
    algorithms_created: list[str] = Field(default_factory=list)


class TasksRequest(WireModel):
    """``POST /jobs/{id}/tasks/``."""

    batch_size: int
    client_info: ClientInfo | None = None


class NextTasksRequest(WireModel):
    """``POST /tasks/next/``: claim across all running jobs of these pipelines."""

    pipelines: list[str] = Field(min_length=1)
    batch_size: int
    client_info: ClientInfo | None = None


class ExtendRequest(WireModel):
    """``POST /tasks/extend/``: keep leases alive for long tasks."""

    reply_subjects: list[str] = Field(min_length=1, max_length=1000)
    seconds: int = Field(ge=1, le=24 * 3600)
    client_info: ClientInfo | None = None


class TaskOut(BaseModel):
    """One task handed to a worker. Ids are strings, as AMI workers expect."""

    id: str
    image_id: str
    image_url: str
    reply_subject: str
    job_id: int | None = None
    #: Seconds the lease lasts from the claim (an extension; Antenna does not send it).
    lease_seconds: int | None = None


class TasksResponse(BaseModel):
    """A claimed batch; empty when there is nothing to do."""

    tasks: list[TaskOut] = Field(default_factory=list)


class BoundingBox(WireModel):
    """A box in pixels of the original image, top-left origin."""

    x1: float
    y1: float
    x2: float
    y2: float


class AlgorithmReference(WireModel):
    """Which registered algorithm produced something."""

    name: str
    key: str


class ClassificationResponse(WireModel):
    """One classifier's verdict on a detection."""

    classification: str
    labels: list[str] | None = None
    scores: list[float] = Field(default_factory=list)
    logits: list[float] | None = None
    inference_time: float | None = None
    algorithm: AlgorithmReference
    terminal: bool = True
    timestamp: datetime | None = None


class DetectionResponse(WireModel):
    """One object found in an image, with its classifications."""

    source_image_id: str
    bbox: BoundingBox | None = None
    inference_time: float | None = None
    algorithm: AlgorithmReference
    timestamp: datetime | None = None
    crop_image_url: str | None = None
    classifications: list[ClassificationResponse] = Field(default_factory=list)


class SourceImageResponse(WireModel):
    """The image a result is about."""

    id: str
    url: str | None = None


class PipelineResultsResponse(WireModel):
    """A pipeline's results for (usually) one image."""

    pipeline: str
    total_time: float = 0.0
    source_images: list[SourceImageResponse] = Field(default_factory=list)
    detections: list[DetectionResponse] = Field(default_factory=list)
    errors: list[Any] | str | None = None


class ResultError(WireModel):
    """A worker's report that it could not process an image."""

    error: str
    image_id: str | None = None


class ResultItem(WireModel):
    """One task's outcome. Both fields stay raw so one bad item can't spoil the request."""

    reply_subject: Any = None
    result: Any = None


class ResultsRequest(WireModel):
    """``POST /jobs/{id}/result/``."""

    results: list[ResultItem]
    client_info: ClientInfo | None = None


def _result_kind(value: Any) -> str:
    if isinstance(value, dict):
        return "error" if "error" in value else "result"
    return "error" if isinstance(value, ResultError) else "result"


class TypedResultItem(WireModel):
    """A result item whose result is fully typed: the common, all-valid case."""

    reply_subject: str
    result: Annotated[
        Annotated[PipelineResultsResponse, Tag("result")] | Annotated[ResultError, Tag("error")],
        Discriminator(_result_kind),
    ]


class TypedResultsRequest(WireModel):
    """``POST /jobs/{id}/result/`` when every item is well formed.

    Validating the whole body in one pass is several times faster than item by item; a body
    that fails it is read again as a ``ResultsRequest`` so each bad item gets its own answer.
    """

    results: list[TypedResultItem]
    client_info: ClientInfo | None = None


def dict_validator(model: type[BaseModel]) -> SchemaValidator:
    """A validator of ``model`` that answers plain dicts, nested ones included.

    It checks what the model checks, with the same defaults and error locations: it is the
    model's own core schema with every model in it made a typed dict. On the result bodies
    workers post it takes about half the time of the model, most of which goes to building
    the nested model instances.
    """
    return SchemaValidator(_as_typed_dicts(model.__pydantic_core_schema__))


def _as_typed_dicts(node: Any) -> Any:
    if isinstance(node, list):
        return [_as_typed_dicts(v) for v in node]
    if not isinstance(node, dict):
        return node
    if node.get("type") != "model":
        return {k: _as_typed_dicts(v) for k, v in node.items()}
    # The wire models have no validators of their own, only typed fields with defaults.
    fields = node["schema"]["fields"]
    config = node.get("config", {})
    typed = {
        "type": "typed-dict",
        "fields": {
            name: {
                "type": "typed-dict-field",
                "schema": _as_typed_dicts(field["schema"]),
                "required": field["schema"]["type"] != "default",
            }
            for name, field in fields.items()
        },
        "extra_behavior": config.get("extra_fields_behavior", "ignore"),
        "config": config,
    }
    if "ref" in node:
        typed["ref"] = node["ref"]
    return typed


#: ``PipelineResultsResponse`` as a dict.
PIPELINE_RESULT = dict_validator(PipelineResultsResponse)
#: A results body as dicts, its items raw.
RESULTS_BODY = dict_validator(ResultsRequest)
#: A results body as dicts, every item well formed (``TypedResultsRequest``).
TYPED_RESULTS_BODY = dict_validator(TypedResultsRequest)

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


class JobIdItem(BaseModel):
    """A job in an ``ids_only`` listing."""

    id: int
    pipeline_slug: str


# Push mode: the platform calls a synchronous processing service (Antenna's v1 contract).


class SourceImageRequest(WireModel):
    """An image a processing service is asked to fetch (a signed or public URL) and process."""

    # Antenna's pydantic v1 models turn numeric ids into strings; accept both.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=255)
    url: str = Field(min_length=1, max_length=8192)


class PipelineRequest(WireModel):
    """``POST /process``: run one pipeline over these images and answer with the results."""

    pipeline: str = Field(min_length=1, max_length=200)
    source_images: list[SourceImageRequest] = Field(max_length=1000)
    config: dict[str, Any] | None = None


class ProcessResponse(PipelineResultsResponse):
    """The answer to ``POST /process``: one result merged over every image of the request.

    ``errors`` lists the images that could not be processed as ``{"error", "image_id"}``; the
    others are in ``source_images`` with their detections. ``algorithms`` describes every
    algorithm of the pipeline by key, as Antenna's services do.
    """

    algorithms: dict[str, AlgorithmConfig] = Field(default_factory=dict)


class ProcessingServiceInfoResponse(WireModel):
    """``GET /info`` of a processing service: who it is and the pipelines it offers."""

    name: str
    description: str | None = None
    pipelines: list[PipelineConfig] = Field(default_factory=list)
    algorithms: list[AlgorithmConfig] = Field(default_factory=list)


class ReadinessResponse(BaseModel):
    """``GET /readyz`` of a processing service: the pipelines ready to process (empty: none)."""

    status: list[str]
