"""Pipelines as workers describe them: their configs, stages and category maps, registered."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool
from pydantic_core import PydanticCustomError

from trapline.protocol.base import (
    INT32_MAX,
    MAX_ALGORITHMS,
    MAX_LABELS,
    MAX_LIST,
    MAX_PIPELINES,
    MAX_REGISTERED_ALGORITHMS,
    MAX_STAGES,
    NOT_TEXT,
    Finite,
    JsonKey,
    JsonValue,
    ShortName,
    Slug,
    Version,
    WireModel,
    WireName,
    WireText,
    WireUri,
)


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
    #: Whether it classifies boxes it is given (``detections`` of a task or ``/process``
    #: request) instead of detecting, so a job may run it over another pipeline's boxes. A
    #: trapline field: Antenna ignores it.
    classifies_boxes: StrictBool | None = None


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
    #: A trapline field: this worker leaves a job to any other worker online that serves the
    #: job's pipeline for its project (``trapline up``'s embedded worker). Antenna ignores it.
    fallback: StrictBool | None = None


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


class RefusedPipeline(BaseModel):
    """A pipeline a registration left out, and why."""

    slug: str
    version: int
    reason: str


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
    pipelines_refused: list[RefusedPipeline] = Field(
        default_factory=list,
        description="pipelines not registered because they conflict with what the project "
        "has (each with why); the others were registered",
    )
