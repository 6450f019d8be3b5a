"""A small pipeline for tests of processing services: one box and one label per image.

It finds one "moth" in the top-left quarter of every image, and records what happened to it:
how often it was loaded, how many batches it ran, and the most calls it saw at once (models
are not thread-safe, so a service must never call it concurrently).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence

from trapline.pipelines.base import Box, Pipeline, SourceImage, detection, result
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.protocol.results import (
    AlgorithmReference,
    ClassificationResponse,
    PipelineResultsResponse,
)

LABELS = ["moth", "not a moth"]


class QuarterPipeline(Pipeline):
    """One detection per image, the image's top-left quarter, classified as a moth."""

    def __init__(
        self,
        slug: str = "quarter",
        *,
        pause: float = 0.0,
        load_gate: threading.Event | None = None,
        fail_with: str | None = None,
    ) -> None:
        self.slug = slug
        self.pause = pause
        self.load_gate = load_gate
        self.fail_with = fail_with
        self.loads = 0
        self.batches: list[list[str]] = []
        self.most_at_once = 0
        self._running = 0
        self._lock = threading.Lock()

    @property
    def detector(self) -> AlgorithmReference:
        return AlgorithmReference(name="Quarter finder", key=f"{self.slug}-det")

    @property
    def classifier(self) -> AlgorithmReference:
        return AlgorithmReference(name="Always moth", key=f"{self.slug}-cls")

    @property
    def config(self) -> PipelineConfig:
        return PipelineConfig(
            name=f"Quarter pipeline {self.slug}",
            slug=self.slug,
            version=1,
            description="finds one moth in the top-left quarter of every image",
            algorithms=[
                AlgorithmConfig(
                    name=self.detector.name, key=self.detector.key, task_type="detection"
                ),
                AlgorithmConfig(
                    name=self.classifier.name,
                    key=self.classifier.key,
                    task_type="classification",
                    category_map=CategoryMap(
                        labels=LABELS, data=[{"label": x, "index": i} for i, x in enumerate(LABELS)]
                    ),
                ),
            ],
        )

    def load(self) -> None:
        if self.load_gate is not None:
            assert self.load_gate.wait(30), "the test never let the pipeline load"
        self.loads += 1

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        with self._lock:
            self._running += 1
            self.most_at_once = max(self.most_at_once, self._running)
        try:
            self.batches.append([image.id for image in batch])
            time.sleep(self.pause)
            if self.fail_with:
                raise RuntimeError(self.fail_with)
            return [self._one(image) for image in batch]
        finally:
            with self._lock:
                self._running -= 1

    def _one(self, image: SourceImage) -> PipelineResultsResponse:
        started = time.perf_counter()
        width, height = image.size
        box = Box(0.0, 0.0, width / 2, height / 2, score=0.9)
        label = ClassificationResponse(
            classification="moth", labels=LABELS, scores=[0.9, 0.1], algorithm=self.classifier
        )
        found = detection(image, box, self.detector, classifications=[label])
        return result(self.slug, image, [found], started=started)
