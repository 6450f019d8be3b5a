"""A pipeline built from a spec: an ONNX detector, then ONNX classifiers in order.

Every detection carries the detector's own verdict (its label and score) as a classification,
then one classification per classifier stage it reached. A stage with ``keep`` is a filter: only
detections it labels with one of those labels go on to the next stage (as AMI pipelines run a
moth/non-moth classifier before the species classifier). Building the pipeline reads nothing
but the spec; ``load`` fetches the weights and opens the sessions.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from trapline.errors import MissingDependency
from trapline.pipelines.base import (
    Box,
    Pipeline,
    SourceImage,
    classification,
    detection,
    result,
)
from trapline.pipelines.onnx_classifier import OnnxClassifier
from trapline.pipelines.onnx_detector import OnnxDetector
from trapline.pipelines.readiness import ONNX_RUNTIME_MODULES, extra_needed, missing_modules
from trapline.pipelines.spec import PipelineSpec, StageSpec
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig, PipelineStage
from trapline.protocol.results import (
    AlgorithmReference,
    ClassificationResponse,
    PipelineResultsResponse,
)


@dataclass
class _Found:
    """A detection on its way through the stages: the detector's, or a box it was given."""

    image: SourceImage
    box: Box
    algorithm: AlgorithmReference
    given: bool = False
    classifications: list[ClassificationResponse] = field(default_factory=list)


class OnnxPipeline(Pipeline):
    """The pipeline a spec describes."""

    def __init__(self, spec: PipelineSpec, cache_dir: Path | None = None) -> None:
        self.spec = spec
        self.slug = spec.slug
        detector_key, *classifier_keys = spec.stage_keys()
        detector = _algorithm(spec.detector, detector_key, "detection", f"{spec.name} detector")
        self._algorithms = [detector]
        self.detector = OnnxDetector(spec.detector, cache_dir)
        self.detector_algorithm = AlgorithmReference(name=detector.name, key=detector.key)
        self.classifiers: list[OnnxClassifier] = []
        for number, (stage, key) in enumerate(
            zip(spec.classifiers, classifier_keys, strict=True), start=1
        ):
            algorithm = _algorithm(stage, key, "classification", f"{spec.name} classifier {number}")
            self._algorithms.append(algorithm)
            reference = AlgorithmReference(name=algorithm.name, key=algorithm.key)
            self.classifiers.append(OnnxClassifier(stage, reference, cache_dir))

    @property
    def config(self) -> PipelineConfig:
        """Name, slug and version from the spec; one algorithm and one stage per model."""
        return PipelineConfig(
            name=self.spec.name,
            slug=self.slug,
            version=self.spec.version,
            description=self.spec.description,
            default_threshold=self.default_threshold,
            classifies_boxes=self.classifies_boxes or None,
            algorithms=self._algorithms,
            stages=[
                PipelineStage(key=algorithm.key, name=algorithm.name)
                for algorithm in self._algorithms
            ],
        )

    def load(self) -> None:
        """Fetch every stage's weights and open its inference session; first, refuse at once
        (before any download) when ONNX support is not installed."""
        if missing := missing_modules(ONNX_RUNTIME_MODULES):
            raise MissingDependency(extra_needed(self.slug, self.spec.name, missing).how)
        self.detector.load()
        for classifier in self.classifiers:
            classifier.load()

    @property
    def classifies_boxes(self) -> bool:
        """A spec with a classifier can classify another pipeline's boxes."""
        return bool(self.classifiers)

    def process(self, batch: Sequence[SourceImage]) -> list[PipelineResultsResponse]:
        """Detect in the images given no boxes, then run each classifier over the detections
        (and given boxes) that reached it."""
        started = time.perf_counter()
        to_detect = [image for image in batch if image.given is None]
        detected = iter(self.detector.detect(to_detect) if to_detect else [])
        detect_time = (time.perf_counter() - started) / max(1, len(to_detect))
        per_image = [
            [
                _Found(image, box, self.detector_algorithm, False, [self._detector_verdict(box)])
                for box in next(detected)
            ]
            if image.given is None
            else [_Found(image, g.box, g.algorithm, True) for g in image.given]
            for image in batch
        ]
        going_on = [
            found
            for image_found in per_image
            for found in image_found
            if found.given or _kept(self.spec.detector, found.box.label)
        ]
        for classifier in self.classifiers:
            going_on = _classified(classifier, going_on)
        return [
            result(
                self.slug,
                image,
                [
                    detection(
                        image,
                        found.box,
                        found.algorithm,
                        inference_time=None if found.given else detect_time,
                        classifications=found.classifications,
                    )
                    for found in image_found
                ],
                started=started,
            )
            for image, image_found in zip(batch, per_image, strict=True)
        ]

    def _detector_verdict(self, box: Box) -> ClassificationResponse:
        label = box.label or self.spec.detector.labels[0]
        return classification(
            label,
            self.detector_algorithm,
            labels=[label],
            scores=[box.score],
            terminal=not self.classifiers,
        )


def _classified(classifier: OnnxClassifier, detections: list[_Found]) -> list[_Found]:
    """Add ``classifier``'s verdict to each detection; return those that go on past it."""
    verdicts = classifier.classify([(found.image, found.box) for found in detections])
    for found, verdict in zip(detections, verdicts, strict=True):
        found.classifications.append(verdict)
    return [
        found
        for found, verdict in zip(detections, verdicts, strict=True)
        if _kept(classifier.spec, verdict.classification)
    ]


def _kept(stage: StageSpec, label: str | None) -> bool:
    return stage.keep is None or label in stage.keep


def _algorithm(stage: StageSpec, key: str, task_type: str, default_name: str) -> AlgorithmConfig:
    return AlgorithmConfig(
        name=stage.name or default_name,
        key=key,
        description=stage.description,
        task_type=task_type,
        version=stage.version,
        uri=stage.weights,
        weights_sha256=stage.sha256.lower() if stage.sha256 else None,
        category_map=CategoryMap.of_labels(stage.labels, stage.label_data),
    )
