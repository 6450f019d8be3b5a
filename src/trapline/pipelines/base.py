"""The Pipeline ABC: what a worker runs over a batch of decoded images.

A pipeline describes itself (``config``, sent on registration and by ``/info``), loads its models
once per process (``load``), and turns a batch of images into one ``PipelineResultsResponse`` per
image (``process``). Building a pipeline never loads a model, so ``worker register`` is cheap.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from trapline.protocol.pipelines import PipelineConfig
from trapline.protocol.results import (
    AlgorithmReference,
    BoundingBox,
    ClassificationResponse,
    DetectionResponse,
    PipelineResultsResponse,
    SourceImageResponse,
)

if TYPE_CHECKING:
    from PIL import Image

    from trapline.protocol.service import DetectionRequest


@dataclass(frozen=True)
class SourceImage:
    """One decoded RGB image handed to a pipeline.

    To bound memory a worker may decode a very large photo at a reduced size (JPEG draft mode);
    ``original_size`` then says how big the file really is, and pipelines report boxes in
    original pixels with ``to_original``.
    """

    id: str
    image: Image.Image
    url: str | None = None
    original_size: tuple[int, int] | None = None
    #: Boxes another pipeline found on this image, to classify instead of detecting (a job
    #: over that pipeline's boxes); None: detect as usual.
    given: tuple[GivenBox, ...] | None = None

    @property
    def size(self) -> tuple[int, int]:
        """Width and height of the original image in pixels."""
        return self.original_size or self.image.size

    @property
    def scale(self) -> tuple[float, float]:
        """Original pixels per pixel of ``image``, horizontally and vertically."""
        (width, height), (have_w, have_h) = self.size, self.image.size
        return width / have_w, height / have_h

    def to_original(self, box: Box) -> Box:
        """``box`` (in pixels of ``image``) in original-image pixels, clipped to the image."""
        (sx, sy), (width, height) = self.scale, self.size
        return Box(
            x1=min(max(box.x1 * sx, 0.0), width),
            y1=min(max(box.y1 * sy, 0.0), height),
            x2=min(max(box.x2 * sx, 0.0), width),
            y2=min(max(box.y2 * sy, 0.0), height),
            score=box.score,
            label=box.label,
        )


@dataclass(frozen=True)
class Box:
    """A box in original-image pixels with the detector's confidence and label."""

    x1: float
    y1: float
    x2: float
    y2: float
    score: float
    label: str | None = None

    @property
    def area(self) -> float:
        """Area in square pixels (zero for degenerate boxes)."""
        return max(0.0, self.x2 - self.x1) * max(0.0, self.y2 - self.y1)


@dataclass(frozen=True)
class GivenBox:
    """A box another pipeline found (original pixels, its detector's score), with the
    algorithm that drew it: the classified detection names that algorithm, not this one."""

    box: Box
    algorithm: AlgorithmReference

    @classmethod
    def of(cls, wire: DetectionRequest) -> GivenBox:
        """The box a task or ``/process`` request gives (its score 0 when it has none)."""
        b = wire.bbox
        return cls(Box(b.x1, b.y1, b.x2, b.y2, score=wire.score or 0.0), wire.algorithm)


class Pipeline(ABC):
    """A named, versioned sequence of algorithms that a worker can run.

    Subclasses set ``slug`` and implement ``config`` and ``run``; ``load`` is for heavy set-up
    (model weights) and is called once per process before the first batch.
    """

    #: Stable identifier jobs name the pipeline by.
    slug: str

    @property
    @abstractmethod
    def config(self) -> PipelineConfig:
        """The pipeline's description: name, slug, version, algorithms and category maps."""

    @property
    def default_threshold(self) -> float | None:
        """Confidence under which a detection is not counted as a find, by default.

        ``None`` when the pipeline's scores are not calibrated (no threshold means anything).
        """
        return None

    @property
    def classifies_boxes(self) -> bool:
        """Whether ``process`` classifies the boxes an image is given (``SourceImage.given``)
        instead of detecting; a pipeline that cannot is never sent such images."""
        return False

    def load(self) -> None:  # noqa: B027 - optional hook; pipelines without models skip it
        """Load models and other heavy state. Called once per process, before ``process``."""

    @abstractmethod
    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        """Results for each image of the batch, in the batch's order."""


def now() -> datetime:
    """The timestamp put on detections and classifications."""
    return datetime.now(UTC)


def detection(
    image: SourceImage,
    box: Box | None,
    algorithm: AlgorithmReference,
    *,
    inference_time: float | None = None,
    classifications: Sequence[ClassificationResponse] = (),
) -> DetectionResponse:
    """A wire detection for ``box`` (``None``: a whole-image result) in ``image``, with the
    box's score."""
    bbox = None if box is None else BoundingBox(x1=box.x1, y1=box.y1, x2=box.x2, y2=box.y2)
    return DetectionResponse(
        source_image_id=image.id,
        bbox=bbox,
        score=None if box is None else box.score,
        inference_time=inference_time,
        algorithm=algorithm,
        timestamp=now(),
        classifications=list(classifications),
    )


def classification(
    label: str,
    algorithm: AlgorithmReference,
    *,
    labels: Sequence[str] | None = None,
    scores: Sequence[float] = (),
    logits: Sequence[float] | None = None,
    terminal: bool = True,
    inference_time: float | None = None,
    features: Sequence[float] | None = None,
) -> ClassificationResponse:
    """A wire classification: ``label`` is the verdict, ``labels``/``scores`` the ranking,
    ``features`` the classifier's feature vector of the crop."""
    return ClassificationResponse(
        classification=label,
        labels=None if labels is None else list(labels),
        scores=list(scores),
        logits=None if logits is None else list(logits),
        features=None if features is None else list(features),
        inference_time=inference_time,
        algorithm=algorithm,
        terminal=terminal,
        timestamp=now(),
    )


def result(
    pipeline: str,
    image: SourceImage,
    detections: Sequence[DetectionResponse],
    *,
    started: float,
    note: str | None = None,
) -> PipelineResultsResponse:
    """A wire result for one image; ``started`` is a ``time.perf_counter()`` reading;
    ``note``: why there are no detections, when the pipeline knows."""
    return PipelineResultsResponse(
        pipeline=pipeline,
        total_time=time.perf_counter() - started,
        source_images=[SourceImageResponse(id=image.id, url=image.url)],
        detections=list(detections),
        note=note,
    )
