"""Push mode: a processing service's own API (``/process``, ``/info``), which the platform calls
synchronously (Antenna's v1 contract)."""

from __future__ import annotations

from pydantic import ConfigDict, Field

from trapline.protocol.base import (
    MAX_DETECTIONS,
    MAX_REGISTERED_ALGORITHMS,
    Finite,
    JsonKey,
    JsonValue,
    WireModel,
    WireName,
    WireText,
    WireUrl,
)
from trapline.protocol.pipelines import AlgorithmConfig, RegisteredPipelines
from trapline.protocol.results import AlgorithmReference, BoundingBox, PipelineResultsResponse

#: Most boxes one request or task may give to classify (a photo has at most MAX_DETECTIONS).
MAX_GIVEN_BOXES = 10 * MAX_DETECTIONS


class SourceImageRequest(WireModel):
    """An image a processing service is asked to fetch (a signed or public URL) and process."""

    # Antenna's pydantic v1 models turn numeric ids into strings; accept both.
    model_config = ConfigDict(extra="ignore", coerce_numbers_to_str=True)

    id: str = Field(min_length=1, max_length=255)
    url: str = Field(min_length=1, max_length=8192)


class DetectionRequest(WireModel):
    """A box another pipeline found, given to be classified instead of detecting again
    (Antenna's shape: the box's image, its box and the algorithm that drew it)."""

    model_config = ConfigDict(extra="ignore")

    source_image: SourceImageRequest
    bbox: BoundingBox
    crop_image_url: WireUrl | None = None
    algorithm: AlgorithmReference
    #: The detector's confidence in the box; a trapline field, kept on the classified box.
    score: Finite | None = None


class PipelineRequest(WireModel):
    """``POST /process``: run one pipeline over these images and answer with the results.

    With ``detections`` (not empty: Antenna sends an empty list when it gives none) the pipeline
    classifies those boxes of the images instead of detecting, and an image given no box has
    none (a job over another pipeline's boxes); a pipeline that cannot says so per image.
    """

    pipeline: str = Field(min_length=1, max_length=200)
    source_images: list[SourceImageRequest] = Field(max_length=1000)
    detections: list[DetectionRequest] | None = Field(None, max_length=MAX_GIVEN_BOXES)
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
