"""``trapline-constant`` and ``trapline-random``: cheap pipelines without models, for tests
and demos.

Both report a detector and a classifier so the platform stores detections with classifications,
as it would from a real pipeline. ``trapline-constant`` always says the same;
``trapline-random`` makes up boxes and labels, but the same for the same image id every time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence

from trapline.pipelines.base import Box, Pipeline, SourceImage, classification, detection, result
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.protocol.results import AlgorithmReference, DetectionResponse, PipelineResultsResponse

#: Labels of the constant classifier and the scores it always gives them.
CONSTANT_LABELS = ("moth", "nonmoth")
CONSTANT_SCORES = (0.9, 0.1)
#: Labels the random classifier picks from.
RANDOM_LABELS = ("moth", "nonmoth", "beetle", "fly", "wasp")


class _TwoStagePipeline(Pipeline):
    """A detector and a classifier with the given labels, described for registration."""

    name: str
    description: str
    labels: Sequence[str]

    def __init__(self) -> None:
        # Keys of their own (the slug's): other services' test pipelines, Antenna's minimal
        # one among them, use "constant-classifier" and the like, and a project holds a key
        # to one category map.
        self.detector = AlgorithmReference(
            name=f"{self.name} detector", key=f"{self.slug}-detector"
        )
        self.classifier = AlgorithmReference(
            name=f"{self.name} classifier", key=f"{self.slug}-classifier"
        )

    @property
    def config(self) -> PipelineConfig:
        """The two algorithms; the classifier's category map lists ``labels``."""
        return PipelineConfig(
            name=self.name,
            slug=self.slug,
            version=1,
            description=self.description,
            algorithms=[
                AlgorithmConfig(
                    name=self.detector.name,
                    key=self.detector.key,
                    task_type="localization",
                    description="Makes up boxes; no model.",
                ),
                AlgorithmConfig(
                    name=self.classifier.name,
                    key=self.classifier.key,
                    task_type="classification",
                    description="Makes up labels; no model.",
                    category_map=CategoryMap.of_labels(self.labels),
                ),
            ],
        )


class ConstantPipeline(_TwoStagePipeline):
    """One detection per image, the centre quarter, classified ``moth`` at 0.9."""

    slug = "trapline-constant"
    name = "Constant"
    description = "One fixed detection (the centre of the image) classified as moth; no model."
    labels = CONSTANT_LABELS

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        """The same detection and classification for every image."""
        results = []
        for image in batch:
            started = time.perf_counter()
            width, height = image.size
            box = Box(x1=width / 4, y1=height / 4, x2=width * 3 / 4, y2=height * 3 / 4, score=1.0)
            verdict = classification(
                CONSTANT_LABELS[0], self.classifier, labels=self.labels, scores=CONSTANT_SCORES
            )
            found = detection(image, box, self.detector, classifications=[verdict])
            results.append(result(self.slug, image, [found], started=started))
        return results


class RandomPipeline(_TwoStagePipeline):
    """Up to ``max_boxes`` made-up boxes per image with made-up labels, repeatable per image id."""

    slug = "trapline-random"
    name = "Random"
    description = "Made-up boxes and labels, the same for the same image; no model."
    labels = RANDOM_LABELS

    def __init__(self, max_boxes: int = 5) -> None:
        super().__init__()
        self.max_boxes = max_boxes

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        """0 to ``max_boxes`` detections per image, each with a random ranking of labels."""
        results = []
        for image in batch:
            started = time.perf_counter()
            # A string seed is hashed with SHA-512, so it gives the same numbers in any process
            # (its prefix the pipeline's first slug: an image's boxes are what they were).
            rng = random.Random(f"random:{image.id}")
            detections = [self._made_up(image, rng) for _ in range(rng.randint(0, self.max_boxes))]
            results.append(result(self.slug, image, detections, started=started))
        return results

    def _made_up(self, image: SourceImage, rng: random.Random) -> DetectionResponse:
        width, height = image.size
        box_w, box_h = width * rng.uniform(0.05, 0.3), height * rng.uniform(0.05, 0.3)
        left, top = rng.uniform(0, width - box_w), rng.uniform(0, height - box_h)
        weights = [rng.random() + 1e-3 for _ in self.labels]
        total = sum(weights)
        scores = [weight / total for weight in weights]
        ranked = sorted(zip(scores, self.labels, strict=True), reverse=True)
        verdict = classification(
            ranked[0][1],
            self.classifier,
            labels=[label for _, label in ranked],
            scores=[score for score, _ in ranked],
        )
        box = Box(x1=left, y1=top, x2=left + box_w, y2=top + box_h, score=ranked[0][0])
        return detection(image, box, self.detector, classifications=[verdict])
