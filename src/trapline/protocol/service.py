"""Push mode: a processing service's own API (``/process``, ``/info``), which the platform calls
synchronously (Antenna's v1 contract)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from trapline.protocol.base import (
    MAX_REGISTERED_ALGORITHMS,
    JsonKey,
    JsonValue,
    WireModel,
    WireName,
    WireText,
)
from trapline.protocol.pipelines import AlgorithmConfig, RegisteredPipelines
from trapline.protocol.results import PipelineResultsResponse


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
    others are in ``source_images`` with their detections. ``algorithms`` (every algorithm of
    the pipeline by key) is read when a service sends it; trapline's own service leaves it out,
    as ``/info`` describes them and Antenna ignores it here.
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
