"""``trapline eval``: resolve the pipeline as a worker would, evaluate it, format the report."""

from __future__ import annotations

from pathlib import Path

from trapline.evaluation.run import evaluate, format_report
from trapline.evaluation.truth import load_truth
from trapline.pipelines import resolve_pipelines
from trapline.settings import Settings


def run_eval(
    settings: Settings,
    *,
    slug: str,
    images: Path,
    truth: Path,
    draw: Path | None = None,
    min_score: float | None = None,
) -> str:
    """The evaluation report of pipeline ``slug`` on the photos of ``truth`` under ``images``.

    Raises:
        InvalidInput: an unknown pipeline, unreadable ground truth or a missing photo.
    """
    (pipeline,) = resolve_pipelines(
        [slug], settings.worker.pipeline_files, settings.worker.weights_cache_dir
    )
    report = evaluate(
        pipeline,
        images,
        load_truth(truth),
        min_score=min_score,
        draw_dir=draw,
        max_pixels=settings.worker.max_decode_pixels,
    )
    return format_report(report)
