"""Wire models of the worker protocol (Antenna processing-service API v2 compatible).

The single source of the JSON contract for both the platform and the worker. Incoming models
ignore unknown keys, as AMI workers send extras (``config``, ``deployments``…); ids that AMI
workers read as strings are strings here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    StrictFloat,
    StringConstraints,
    Tag,
)
from pydantic_core import ErrorDetails, PydanticCustomError

# -- Bounded values: every string, number and list a caller sends is bounded here, once. --
# The database refuses what these let through only at a cost (PostgreSQL cannot store NUL in
# text, a string longer than its column or an integer past its type fails the statement, and
# its json type has no NaN), so they are refused at the boundary, naming the field.

# A string field refuses lone surrogates (U+D800-U+DFFF, which no UTF-8 can carry) itself;
# free-form JSON checks its strings and keys in ``_plain_json``.
#: Text a column stores: anything but NUL, which PostgreSQL cannot store.
NO_NUL = r"^[^\x00]*$"
#: One-line text (names, labels, identities): no control characters at all, C1 ones included,
#: nor the line and paragraph separators (U+2028, U+2029), the bidirectional controls (U+061C,
#: U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or the invisible characters (U+200B, U+2060-
#: U+2064, U+FEFF) that would make a name read otherwise than it is. The zero-width joiners
#: (U+200C, U+200D) stay: scripts and emoji need them.
ONE_LINE = (
    r"^[^\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
)
#: Free text (descriptions, errors): no control characters but tab and line breaks.
FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
#: What each pattern above is called in an error message.
PATTERN_MEANINGS = {
    NO_NUL: "must not contain NUL characters",
    ONE_LINE: (
        "must not contain NUL, line breaks, other control characters, bidirectional text "
        "controls or invisible characters"
    ),
    FREE_TEXT: "must not contain NUL or control characters (tab and line breaks are fine)",
}
#: A lone surrogate: what JSON's ``\ud800`` escapes decode to, which no UTF-8 text can carry
#: (storing it fails, or answering with it does).
_SURROGATE = re.compile("[\ud800-\udfff]")

#: Longest name, key or label (the columns hold 255 characters).
MAX_NAME = 255
#: Longest URI of weights or a category map (the columns hold 1024 characters).
MAX_URI = 1024
#: Longest free text (descriptions, error messages a worker reports).
MAX_TEXT = 100_000
#: Deepest nesting of free-form JSON values (category map data, configs, extras).
MAX_JSON_DEPTH = 32
#: Most labels in a category map or a classification (and scores, logits).
MAX_LABELS = 100_000
#: Most result items in one post of results (a whole-request limit: over it answers 400).
MAX_RESULT_ITEMS = 1000


#: Most JSON objects and arrays in a post of results (or a push service's answer to /process):
#: 64 images x 50 detections x ~15 each is 48,000; five times that leaves room, and costs at
#: most ~20 MB as empty objects.
MAX_RESULTS_CONTAINERS = 250_000
#: Most JSON objects and arrays in a pipeline registration (or a push service's /info):
#: category maps whose labels each carry an object of data, ~10 pipelines with up to 30,000
#: labels each (~300,000), with room.
MAX_REGISTRATION_CONTAINERS = 500_000


def json_containers(data: bytes) -> int:
    """How many JSON objects and arrays ``data`` may open (at most: brackets in strings count).

    A parsed empty object takes ~70 bytes of memory for its 3 bytes of JSON, so a byte limit
    alone does not bound what parsing costs; a limit on this count does, checked before parsing.
    """
    return data.count(b"{") + data.count(b"[")


#: Most detections in one image's result.
MAX_DETECTIONS = 10_000
#: Most classifications of one detection.
MAX_CLASSIFICATIONS = 100
# A registration's cost grows with its algorithms (rows and links written in one transaction,
# which on SQLite holds every other writer): real services register ~10 pipelines of 2-4
# algorithms each (the AMI Data Companion), so these leave ten times the room.
#: Most pipelines in one registration (or a push service's ``/info``).
MAX_PIPELINES = 100
#: Most algorithms in one pipeline.
MAX_ALGORITHMS = 20
#: Most algorithms across one registration, its pipelines' together (or an ``/info``'s list).
MAX_REGISTERED_ALGORITHMS = 500
#: Most stages of a pipeline, and parameters of a stage.
MAX_STAGES = 100
#: Largest registration of pipelines, in bytes (a pull-mode post, or a push service's
#: ``/info``): ~10 pipelines whose category maps hold up to 30,000 labels with ~100 bytes of
#: data each are ~30 MB at most.
MAX_REGISTRATION_BYTES = 32 * 1024 * 1024
#: Largest post of results, in bytes (a worker's, or a push service's ``/process`` answer). Its
#: real worst case is a batch of 64 images with 50 detections each classified with score
#: vectors: a few MB, or ~30 MB for one image whose 50 detections carry full scores and logits
#: of a 30,000-label classifier. Numbers cost at most ~8 bytes of memory per byte of JSON once
#: parsed (a float takes 32), so this also bounds what they cost.
MAX_RESULTS_BYTES = 64 * 1024 * 1024
#: Most pipeline slugs or reply subjects in one claim or lease extension.
MAX_LIST = 1000
#: Range of a 32-bit integer column (versions, process ids).
INT32_MAX = 2**31 - 1


def _plain_json(value: Any) -> Any:
    """``value`` if it is JSON a database stores: finite numbers, nested at most so deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise PydanticCustomError("json_finite", "numbers must be finite (not NaN or Infinity)")
        if isinstance(node, str):
            _check_json_text(node, "strings")
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise PydanticCustomError(
                    "json_depth", "nested deeper than {limit} levels", {"limit": MAX_JSON_DEPTH}
                )
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if isinstance(key, str):
                    _check_json_text(key, "keys")
                stack.append((child, depth + 1))
    return value


def _check_json_text(text: str, what: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError("json_nul", f"{what} must not contain NUL characters")
    if _SURROGATE.search(text):
        raise PydanticCustomError(
            "json_surrogate", f"{what} must not contain lone surrogates (U+D800 to U+DFFF)"
        )
    return text


def _json_key(key: str) -> str:
    """``key`` if a database can store it (keys of free-form objects)."""
    return _check_json_text(key, "keys")


#: Free-form JSON kept as it is: no NaN or Infinity, no NUL or lone surrogates, at most
#: MAX_JSON_DEPTH deep.
JsonValue = Annotated[Any, AfterValidator(_plain_json)]
#: A key of a free-form object: no NUL or lone surrogates (the values are JsonValue).
JsonKey = Annotated[str, AfterValidator(_json_key)]
#: A name, key or label of at most MAX_NAME characters on one line.
WireName = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=ONE_LINE)]
#: A short name: a task type, a version name.
ShortName = Annotated[str, StringConstraints(max_length=64, pattern=ONE_LINE)]
#: A pipeline slug.
Slug = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]
#: A URI of weights or a category map.
WireUri = Annotated[str, StringConstraints(max_length=MAX_URI, pattern=ONE_LINE)]
#: A URL that is passed along but not stored (an image's, a crop's).
WireUrl = Annotated[str, StringConstraints(max_length=8192, pattern=ONE_LINE)]
#: A lease token as handed out (``reply_subject``).
ReplySubject = Annotated[str, StringConstraints(max_length=MAX_URI, pattern=ONE_LINE)]
#: Free text: a description.
WireText = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=FREE_TEXT)]
#: A message from a program (an error, maybe with a coloured traceback): anything but NUL.
WireMessage = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=NO_NUL)]


def _number_not_text(value: Any) -> Any:
    """``value`` unless it is text or a boolean, which JSON does not take for a number."""
    if isinstance(value, str | bytes | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# Numbers and booleans are strict: "3" or true is not taken for 3, nor 1 for true (but 3.0 is
# 3, as in JSON Schema).
#: Refuses text and booleans for an integer; put it after the integer's Field (its bounds are
#: then documented as minimum and maximum).
NOT_TEXT = BeforeValidator(_number_not_text)
#: A number a database stores: not NaN, not Infinity.
Finite = Annotated[StrictFloat, Field(allow_inf_nan=False)]
#: A version number (a 32-bit column).
Version = Annotated[int, Field(ge=0, le=INT32_MAX), NOT_TEXT]
#: Most tasks one claim may ask for.
MAX_BATCH_SIZE = 1000
#: Size of a claim's batch.
BatchSize = Annotated[int, Field(ge=1, le=MAX_BATCH_SIZE), NOT_TEXT]


def describe_problem(error: ErrorDetails | dict[str, Any]) -> str:
    """One validation problem in words, naming where it is: ``labels.3: must not contain NUL``.

    The one formatter of validation problems (the API's error answers and the per-item
    answers to posted results both use it).
    """
    location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    # A key in the location may be a lone surrogate, which no answer can carry.
    where = _SURROGATE.sub("\ufffd", ".".join(location)) or "body"
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "json_invalid":
        return "the request body is not valid JSON: " + str(context.get("error", ""))
    if kind == "missing":
        return f"{where} is required"
    if kind == "string_pattern_mismatch" and context.get("pattern") in PATTERN_MEANINGS:
        return f"{where}: {PATTERN_MEANINGS[context['pattern']]}"
    message = str(error.get("msg", "invalid value"))
    given = error.get("input")
    if given is not None and not isinstance(given, dict | list) and len(str(given)) < 80:
        message += f" (got {given!r})"
    return _SURROGATE.sub("\ufffd", f"{where}: {message}")


class WireModel(BaseModel):
    """Base of protocol models: unknown keys are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")


class CategoryMap(WireModel):
    """Labels of a classifier in model-output order, with optional per-label data."""

    data: list[dict[JsonKey, JsonValue]] = Field(default_factory=list, max_length=MAX_LABELS)
    labels: list[WireName] = Field(default_factory=list, max_length=MAX_LABELS)
    version: WireName | None = None
    description: WireText | None = None
    uri: WireUri | None = None

    @classmethod
    def of_labels(
        cls,
        labels: Sequence[str],
        data: Sequence[Mapping[str, Any]] | None = None,
        *,
        version: str | None = None,
    ) -> CategoryMap:
        """The map of ``labels`` (model-output order) with one ``data`` entry per label:
        ``{"index", "label"}`` and what ``data`` knows of it (``taxon_rank``, ``gbif_key``…).

        Antenna stores a classification with ``data[index of the best score]``, so a map
        without these entries cannot be used there.
        """
        extra = list(data or [])
        if extra and len(extra) != len(labels):
            raise ValueError(f"{len(extra)} data entries for {len(labels)} labels")
        entries = [
            {**(extra[index] if extra else {}), "index": index, "label": label}
            for index, label in enumerate(labels)
        ]
        return cls(data=entries, labels=list(labels), version=version)


class AlgorithmConfig(WireModel):
    """One model or processing step of a pipeline."""

    name: WireName
    key: WireName
    description: WireText | None = None
    task_type: ShortName | None = None
    version: Version = 1
    version_name: WireName | None = None
    uri: WireUri | None = None
    #: SHA-256 of the weights file, when the worker knows it.
    weights_sha256: ShortName | None = None
    category_map: CategoryMap | None = None


class PipelineStageParam(WireModel):
    """A named parameter of a pipeline stage."""

    name: WireName
    key: WireName
    category: WireName = "default"


class PipelineStage(WireModel):
    """A step of a pipeline as shown to users."""

    key: WireName
    name: WireName
    params: list[PipelineStageParam] = Field(default_factory=list, max_length=MAX_STAGES)
    description: WireText | None = None


class PipelineConfig(WireModel):
    """A pipeline a processing service offers."""

    name: WireName
    slug: Slug
    version: Version = 1
    description: WireText | None = None
    algorithms: list[AlgorithmConfig] = Field(default_factory=list, max_length=MAX_ALGORITHMS)
    stages: list[PipelineStage] = Field(default_factory=list, max_length=MAX_STAGES)
    #: Confidence under which a detection is not counted as a find, for pipelines whose
    #: scores are calibrated; the web app hides detections under it until asked. A trapline
    #: field: Antenna ignores it.
    default_threshold: Annotated[Finite, Field(ge=0.0, le=1.0)] | None = None


class ClientInfo(WireModel):
    """Who is calling: one worker process."""

    model_config = ConfigDict(extra="allow")

    # Other keys a worker sends are kept in the model but stored nowhere, so they need no
    # bounds of their own (the body's size and nesting are bounded where it is read).

    hostname: WireName | None = None
    software: WireName | None = None
    version: ShortName | None = None
    platform: WireName | None = None
    pid: Annotated[int, Field(ge=0, le=INT32_MAX), NOT_TEXT] | None = None
    pipelines: list[Slug] | None = Field(None, max_length=MAX_LIST)
    name: WireName | None = None


def _few_algorithms(pipelines: list[PipelineConfig]) -> list[PipelineConfig]:
    """``pipelines`` unless they hold more than MAX_REGISTERED_ALGORITHMS algorithms together."""
    if sum(len(p.algorithms) for p in pipelines) > MAX_REGISTERED_ALGORITHMS:
        raise PydanticCustomError(
            "too_many_algorithms",
            "the pipelines hold more than {limit} algorithms together; register fewer at once",
            {"limit": MAX_REGISTERED_ALGORITHMS},
        )
    return pipelines


#: The pipelines of one registration: at most MAX_PIPELINES, MAX_REGISTERED_ALGORITHMS in all.
RegisteredPipelines = Annotated[
    list[PipelineConfig], Field(max_length=MAX_PIPELINES), AfterValidator(_few_algorithms)
]


class PipelineRegistration(WireModel):
    """``POST /projects/{id}/pipelines/``: a pull-mode service and its pipelines."""

    processing_service_name: WireName | None = None
    pipelines: RegisteredPipelines = Field(default_factory=list)
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

    batch_size: BatchSize
    client_info: ClientInfo | None = None


class NextTasksRequest(WireModel):
    """``POST /tasks/next/``: claim across all running jobs of these pipelines."""

    pipelines: list[Slug] = Field(min_length=1, max_length=MAX_LIST)
    batch_size: BatchSize
    client_info: ClientInfo | None = None


class ExtendRequest(WireModel):
    """``POST /tasks/extend/``: keep leases alive for long tasks."""

    reply_subjects: list[ReplySubject] = Field(min_length=1, max_length=MAX_LIST)
    seconds: Annotated[int, Field(ge=1, le=24 * 3600), NOT_TEXT]
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
    labels: list[WireName] | None = Field(None, max_length=MAX_LABELS)
    scores: list[Finite] = Field(default_factory=list, max_length=MAX_LABELS)
    logits: list[Finite] | None = Field(None, max_length=MAX_LABELS)
    #: Seconds; a time that is not finite is stored as unknown.
    inference_time: StrictFloat | None = None
    algorithm: AlgorithmReference
    terminal: StrictBool = True
    timestamp: datetime | None = None


class DetectionResponse(WireModel):
    """One object found in an image, with its classifications."""

    source_image_id: WireName
    bbox: BoundingBox | None = None
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
        default_factory=list, max_length=MAX_DETECTIONS
    )
    detections: list[DetectionResponse] = Field(default_factory=list, max_length=MAX_DETECTIONS)
    errors: Annotated[list[JsonValue], Field(max_length=MAX_DETECTIONS)] | WireMessage | None = None


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


class TypedResultItem(WireModel):
    """A result item whose result is fully typed: the common, all-valid case."""

    reply_subject: ReplySubject
    result: ResultOutcome


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
    config: dict[JsonKey, JsonValue] | None = None


class ProcessResponse(PipelineResultsResponse):
    """The answer to ``POST /process``: one result merged over every image of the request.

    ``errors`` lists the images that could not be processed as ``{"error", "image_id"}``; the
    others are in ``source_images`` with their detections. ``algorithms`` describes every
    algorithm of the pipeline by key, as Antenna's services do.
    """

    algorithms: dict[str, AlgorithmConfig] = Field(default_factory=dict)


class ProcessingServiceInfoResponse(WireModel):
    """``GET /info`` of a processing service: who it is and the pipelines it offers."""

    name: WireName
    description: WireText | None = None
    pipelines: RegisteredPipelines = Field(default_factory=list)
    algorithms: list[AlgorithmConfig] = Field(
        default_factory=list, max_length=MAX_REGISTERED_ALGORITHMS
    )
