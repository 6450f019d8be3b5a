"""Turning a worker's pipeline result into annotations, checking it against the pipeline."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from operator import itemgetter

from trapline.domain.core.records import Project
from trapline.domain.pipelines.pipelines import Algorithm, Pipeline
from trapline.domain.processing.features import packed
from trapline.domain.processing.results import (
    MAX_NOTE,
    AnalysisDraft,
    AnnotationDraft,
    AnnotationType,
    Box,
    ResultTarget,
)
from trapline.protocol.results import (
    AlgorithmReference,
    BoundingBox,
    ClassificationResponse,
    DetectionResponse,
    PipelineResultsResponse,
)

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
    detections: Iterable[DetectionResponse] | None = None,
) -> AnalysisDraft:
    """The analysis a result describes, or ResultRejected naming the first problem.

    ``detections``, when given, stand for ``result.detections``: a result read from a body
    passes them one at a time, so only one is held parsed. The place of a problem
    ("detections[0].bbox") is spelled out only when there is one: this runs for every result
    a worker posts.
    """
    if result.pipeline != pipeline.slug:
        raise ResultRejected(
            f"result is for pipeline {result.pipeline!r} but the job runs {pipeline.slug!r}"
        )
    image_id = str(target.image_id)
    # A result that names other images is theirs: stored, its "nothing found" would be this one's.
    named = [source.id for source in result.source_images]
    if named and image_id not in named:
        raise ResultRejected(
            f"source_images names {', '.join(repr(n) for n in named[:5])}"
            f"{' ...' if len(named) > 5 else ''} but the task is for image {target.image_id}"
        )
    found = result.detections if detections is None else detections
    boxes = []
    for n, detection in enumerate(found):
        if detection.source_image_id != image_id:
            raise ResultRejected(
                f"detections[{n}].source_image_id is {detection.source_image_id!r} "
                f"but the task is for image {target.image_id}"
            )
        algorithm = _algorithm(pipeline, detection.algorithm, n)
        box = _box(detection.bbox, target, n) if detection.bbox else None
        children = tuple(
            _classification(c, pipeline, project, n, k)
            for k, c in enumerate(detection.classifications)
        )
        score = detection.score
        # Also true for NaN.
        if score is not None and not 0.0 <= score <= 1.0:
            raise ResultRejected(f"{_where(n)}.score {score} is outside [0, 1]")
        seconds = detection.inference_time
        boxes.append(
            AnnotationDraft(
                type=AnnotationType.BOUNDING_BOX,
                label=None,
                confidence=score,
                box=box,
                algorithm_id=algorithm.id,
                data={"inference_time": seconds} if seconds else None,
                children=children,
            )
        )
    total_time = result.total_time
    return AnalysisDraft(
        target.task_id,
        target.image_id,
        total_time if math.isfinite(total_time) else None,
        worker,
        tuple(boxes),
        note=result.note[:MAX_NOTE] if result.note else None,
    )


def _where(detection: int, classification: int | None = None) -> str:
    where = f"detections[{detection}]"
    return where if classification is None else f"{where}.classifications[{classification}]"


def _algorithm(
    pipeline: Pipeline,
    reference: AlgorithmReference,
    detection: int,
    classification: int | None = None,
) -> Algorithm:
    algorithm = pipeline.algorithm(reference.key)
    if algorithm is None:
        known = ", ".join(a.key for a in pipeline.algorithms) or "none"
        raise ResultRejected(
            f"{_where(detection, classification)}.algorithm: algorithm {reference.key!r} is "
            f"not registered for pipeline {pipeline.slug} v{pipeline.version} (registered: {known})"
        )
    return algorithm


def _box(bbox: BoundingBox, target: ResultTarget, detection: int) -> Box:
    x1, y1, x2, y2 = bbox.x1, bbox.y1, bbox.x2, bbox.y2
    tol = BOX_TOLERANCE
    # Comparisons with NaN are false: a box that passes all three has finite values.
    if not (-tol <= x1 < x2 <= target.width + tol and -tol <= y1 < y2 <= target.height + tol):
        where = f"{_where(detection)}.bbox"
        if not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
            raise ResultRejected(f"{where} has a value that is not a finite number")
        if x2 <= x1 or y2 <= y1:
            raise ResultRejected(f"{where} is inverted or empty: ({x1}, {y1}, {x2}, {y2})")
        raise ResultRejected(
            f"{where} ({x1}, {y1}, {x2}, {y2}) lies outside the "
            f"{target.width}x{target.height} image"
        )
    return Box(
        max(x1, 0.0), max(y1, 0.0), min(x2, float(target.width)), min(y2, float(target.height))
    )


def _classification(
    c: ClassificationResponse, pipeline: Pipeline, project: Project, detection: int, k: int
) -> AnnotationDraft:
    algorithm = _algorithm(pipeline, c.algorithm, detection, k)
    label = c.classification
    labels = c.labels or algorithm.labels or ()
    known = algorithm.label_set
    if known and not (label in known and known.issuperset(labels)):
        wrong = next(x for x in (label, *labels) if x not in known)
        raise ResultRejected(
            f"{_where(detection, k)}: label {wrong!r} is not in the category map of {algorithm.key}"
        )
    scores = c.scores
    for score in scores:
        # Also false for NaN.
        if not 0.0 <= score <= 1.0:
            raise ResultRejected(f"{_where(detection, k)}: score {score} is outside [0, 1]")
    if scores and labels and len(scores) != len(labels):
        raise ResultRejected(
            f"{_where(detection, k)}: {len(scores)} scores for {len(labels)} labels; "
            "send one score per label"
        )
    ranked = _top_k(labels, scores, project.classification_top_k)
    confidence = dict(zip(labels, scores, strict=False)).get(label)
    if confidence is None and scores and not labels:
        confidence = max(scores)
    data: dict[str, object] = {
        "labels": [pair[0] for pair in ranked],
        "scores": [pair[1] for pair in ranked],
        "terminal": c.terminal,
    }
    if c.inference_time is not None:
        data["inference_time"] = c.inference_time
    if project.keep_full_scores:
        data["all_scores"] = list(scores)
        data["logits"] = list(c.logits or [])
    return AnnotationDraft(
        type=AnnotationType.CLASSIFICATION,
        label=label,
        confidence=confidence,
        box=None,
        algorithm_id=algorithm.id,
        data=data,
        features=packed(c.features) if c.features else None,
    )


def _top_k(labels: Sequence[str], scores: Sequence[float], k: int) -> list[tuple[str, float]]:
    if not labels or not scores:
        return []
    # Highest first; a stable sort keeps equal scores in the worker's order.
    return sorted(zip(labels, scores, strict=False), key=itemgetter(1), reverse=True)[:k]
