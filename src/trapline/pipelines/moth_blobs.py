"""``moth-blobs``: a classical detector and classifier for insects on the lit sheet of a light trap.

No model, no weights. ``blob_segmentation`` finds the blobs that could be insects;
``blob_classes`` labels each ``moth``, ``other insect`` or ``not an insect`` from its shape and
colour and scores the chance that it is an insect. See docs/pipelines.md for its figures.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

from PIL import Image

from trapline.pipelines.base import (
    Box,
    Pipeline,
    SourceImage,
    classification,
    detection,
    result,
)
from trapline.pipelines.blob_classes import LABELS, NOT_AN_INSECT, Verdict, classify, is_ruled_out
from trapline.pipelines.blob_features import BlobFeatures
from trapline.pipelines.blob_segmentation import BlobSettings, blob_candidates, scan
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.protocol.results import AlgorithmReference, PipelineResultsResponse

__all__ = [
    "Blob",
    "BlobSettings",
    "MothBlobsPipeline",
    "blob_candidates",
    "classified",
    "counted",
    "detect_blobs",
    "find_blobs",
]


@dataclass(frozen=True)
class Blob:
    """A blob's box (its score the chance of an insect, its label the verdict) and verdict."""

    box: Box
    verdict: Verdict


def detect_blobs(image: Image.Image, settings: BlobSettings = BlobSettings()) -> list[Blob]:
    """Every blob worth reporting on a light-trap photo, insect or not, most likely insect first.

    Boxes are in pixels of ``image``; a box's score is the chance of an insect, its label the
    classifier's verdict.
    """
    return classified(scan(image, settings).candidates, settings)


def classified(
    candidates: Sequence[tuple[Box, BlobFeatures]], settings: BlobSettings = BlobSettings()
) -> list[Blob]:
    """The candidates of ``scan`` worth reporting, classified, most likely insect first."""
    blobs = []
    for box, features in candidates:
        verdict = classify(features, settings.classes)
        if verdict.insect < settings.min_score and not is_ruled_out(features, settings.classes):
            continue
        labelled = Box(box.x1, box.y1, box.x2, box.y2, score=verdict.insect, label=verdict.label)
        blobs.append(Blob(labelled, verdict))
    return sorted(blobs, key=lambda blob: blob.box.score, reverse=True)


def find_blobs(image: Image.Image, settings: BlobSettings = BlobSettings()) -> list[Box]:
    """The insects on a light-trap photo (at the default threshold), as boxes in pixels of
    ``image``, best first."""
    return counted(detect_blobs(image, settings), settings)


def counted(blobs: Sequence[Blob], settings: BlobSettings = BlobSettings()) -> list[Box]:
    """The boxes of ``blobs`` counted as insects at the default threshold."""
    return [
        blob.box
        for blob in blobs
        if blob.verdict.label != NOT_AN_INSECT and blob.box.score >= settings.classes.threshold
    ]


class MothBlobsPipeline(Pipeline):
    """Blobs on a light-trap sheet, each a detection labelled by the shape-and-colour classifier."""

    slug = "moth-blobs"

    def __init__(self, settings: BlobSettings | None = None) -> None:
        self.settings = settings or BlobSettings()
        self.detector = AlgorithmReference(name="Moth blobs", key="moth-blobs")
        self.classifier = AlgorithmReference(name="Blob classes", key="moth-blobs-classes")

    @property
    def default_threshold(self) -> float:
        """Insect score under which a blob is labelled ``not an insect``."""
        return self.settings.classes.threshold

    @property
    def config(self) -> PipelineConfig:
        """Two algorithms: the blob detector and the classifier that labels each blob."""
        return PipelineConfig(
            name="Moth blobs",
            slug=self.slug,
            version=6,
            default_threshold=self.default_threshold,
            description=(
                "Classical detector for light-trap photos: dark or colourful blobs on the lit "
                "sheet, labelled moth, other insect or not an insect from their shape and "
                "colour; the score is the chance of an insect. No model; fast."
            ),
            algorithms=[
                AlgorithmConfig(
                    name=self.detector.name,
                    key=self.detector.key,
                    task_type="detection",
                    version=5,
                    description="Sheet estimate, contrast threshold, connected components.",
                    category_map=CategoryMap.of_labels(["insect"]),
                ),
                AlgorithmConfig(
                    name=self.classifier.name,
                    key=self.classifier.key,
                    task_type="classification",
                    version=2,
                    description=(
                        "Size, elongation, fill, darkness and colour of each blob; insect "
                        "score from darkness, size and standout over the sheet's texture, "
                        f"calibrated on light-trap photos, threshold "
                        f"{self.default_threshold:g}."
                    ),
                    category_map=CategoryMap.of_labels(list(LABELS)),
                ),
            ],
        )

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        """One result per image with a detection per blob, classified by the blob classifier."""
        results = []
        for image in batch:
            started = time.perf_counter()
            scanned = scan(image.image, self.settings)
            blobs = classified(scanned.candidates, self.settings)
            elapsed = time.perf_counter() - started
            detections = [
                detection(
                    image,
                    image.to_original(blob.box),
                    self.detector,
                    inference_time=elapsed,
                    classifications=[
                        classification(
                            blob.verdict.label,
                            self.classifier,
                            labels=list(LABELS),
                            scores=list(blob.verdict.scores),
                        )
                    ],
                )
                for blob in blobs
            ]
            results.append(
                result(self.slug, image, detections, started=started, note=scanned.refusal)
            )
        return results
