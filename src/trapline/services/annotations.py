"""Turning a worker's pipeline result into annotations, checking it against the pipeline."""

from __future__ import annotations

import math
from collections.abc import Sequence

from trapline.domain.pipelines import Algorithm, Pipeline
from trapline.domain.records import Project
from trapline.domain.results import (
    AnalysisDraft,
    AnnotationDraft,
    AnnotationType,
    Box,
    ResultTarget,
)
from trapline.protocol import AlgorithmReference, ClassificationResponse, PipelineResultsResponse

#: Pixels a box may stick out of the image (rounding in workers' resizing).
BOX_TOLERANCE = 1.0


class ResultRejected(ValueError):
    """A result that cannot be stored; the message says why."""


def drafts_from_result(
    result: PipelineResultsResponse,
    pipeline: Pipeline,
    target: ResultTarget,
    project: Project,
    worker: str | None,
) -> AnalysisDraft:
    """The analysis a result describes, or ResultRejected naming the first problem."""
    if result.pipeline != pipeline.slug:
        raise ResultRejected(
            f"result is for pipeline {result.pipeline!r} but the job runs {pipeline.slug!r}"
        )
    detections = []
    for n, detection in enumerate(result.detections):
        where = f"detections[{n}]"
        if detection.source_image_id != str(target.image_id):
            raise ResultRejected(
                f"{where}.source_image_id is {detection.source_image_id!r} "
                f"but the task is for image {target.image_id}"
            )
        algorithm = _algorithm(pipeline, detection.algorithm, f"{where}.algorithm")
        box = _box(detection.bbox, target, f"{where}.bbox") if detection.bbox else None
        children = tuple(
            _classification(c, pipeline, project, f"{where}.classifications[{k}]")
            for k, c in enumerate(detection.classifications)
        )
        data = {"inference_time": detection.inference_time} if detection.inference_time else None
        detections.append(
            AnnotationDraft(
                type=AnnotationType.BOUNDING_BOX,
                label=None,
                confidence=None,
                box=box,
                algorithm_id=algorithm.id,
                data=data,
                children=children,
            )
        )
    total_time = result.total_time if math.isfinite(result.total_time) else None
    return AnalysisDraft(target.task_id, target.image_id, total_time, worker, tuple(detections))


def _algorithm(pipeline: Pipeline, reference: AlgorithmReference, where: str) -> Algorithm:
    algorithm = pipeline.algorithm(reference.key)
    if algorithm is None:
        known = ", ".join(a.key for a in pipeline.algorithms) or "none"
        raise ResultRejected(
            f"{where}: algorithm {reference.key!r} is not registered for pipeline "
            f"{pipeline.slug} v{pipeline.version} (registered: {known})"
        )
    return algorithm


def _box(bbox: object, target: ResultTarget, where: str) -> Box:
    x1, y1, x2, y2 = (getattr(bbox, k) for k in ("x1", "y1", "x2", "y2"))
    if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        raise ResultRejected(f"{where} has a value that is not a finite number")
    if x2 <= x1 or y2 <= y1:
        raise ResultRejected(f"{where} is inverted or empty: ({x1}, {y1}, {x2}, {y2})")
    tol = BOX_TOLERANCE
    if x1 < -tol or y1 < -tol or x2 > target.width + tol or y2 > target.height + tol:
        raise ResultRejected(
            f"{where} ({x1}, {y1}, {x2}, {y2}) lies outside the "
            f"{target.width}x{target.height} image"
        )
    return Box(
        max(x1, 0.0), max(y1, 0.0), min(x2, float(target.width)), min(y2, float(target.height))
    )


def _classification(
    c: ClassificationResponse, pipeline: Pipeline, project: Project, where: str
) -> AnnotationDraft:
    algorithm = _algorithm(pipeline, c.algorithm, f"{where}.algorithm")
    labels = list(c.labels) if c.labels else list(algorithm.labels or ())
    known = algorithm.label_set
    if known:
        for label in [c.classification, *labels]:
            if label not in known:
                raise ResultRejected(
                    f"{where}: label {label!r} is not in the category map of {algorithm.key}"
                )
    scores = list(c.scores)
    for score in scores:
        if not (math.isfinite(score) and 0.0 <= score <= 1.0):
            raise ResultRejected(f"{where}: score {score} is outside [0, 1]")
    if scores and labels and len(scores) != len(labels):
        raise ResultRejected(
            f"{where}: {len(scores)} scores for {len(labels)} labels; send one score per label"
        )
    ranked = _top_k(labels, scores, project.classification_top_k)
    confidence = dict(zip(labels, scores, strict=False)).get(c.classification)
    if confidence is None and scores and not labels:
        confidence = max(scores)
    data: dict[str, object] = {
        "labels": [label for label, _ in ranked],
        "scores": [score for _, score in ranked],
        "terminal": c.terminal,
    }
    if c.inference_time is not None:
        data["inference_time"] = c.inference_time
    if project.keep_full_scores:
        data["all_scores"] = scores
        data["logits"] = list(c.logits or [])
    return AnnotationDraft(
        type=AnnotationType.CLASSIFICATION,
        label=c.classification,
        confidence=confidence,
        box=None,
        algorithm_id=algorithm.id,
        data=data,
    )


def _top_k(labels: Sequence[str], scores: Sequence[float], k: int) -> list[tuple[str, float]]:
    if not labels or not scores:
        return []
    return sorted(zip(labels, scores, strict=False), key=lambda pair: -pair[1])[:k]
