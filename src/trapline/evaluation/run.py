"""Run a pipeline over a folder of photos, as a worker would, and score it against ground truth.

Each photo is read and decoded by the worker's own code (``trapline.worker.images``, the same
limits and reduced decode of very large photos) and handed to the pipeline's ``process`` one at
a time, so the figures are those of the pipeline a worker runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from trapline.errors import InvalidInput
from trapline.evaluation.metrics import Counts, Prediction, match, total
from trapline.evaluation.scores import IOU_THRESHOLDS, SIZE_BANDS, ImageScore
from trapline.evaluation.truth import TruthImage, scale_normalised
from trapline.pipelines import Pipeline
from trapline.protocol.results import PipelineResultsResponse
from trapline.worker.images import DEFAULT_MAX_DECODE_PIXELS, ImageError, decode

#: Verdicts that say a detection is not an object to be counted (compared without case).
NOT_OBJECT_LABELS = frozenset({"not an insect", "nonmoth", "background"})
#: Largest photo read, in bytes (the worker's default limit).
MAX_PHOTO_BYTES = 200 * 1024 * 1024


@dataclass(frozen=True)
class Report:
    """Every photo's score, in the order of the ground truth."""

    images: list[ImageScore]

    def overall(self, threshold: float) -> Counts:
        """All photos' boxes pooled, at IoU ``threshold``."""
        return total(image.counts(threshold) for image in self.images)


def predictions(result: PipelineResultsResponse, min_score: float = 0.0) -> list[Prediction]:
    """The boxes a result claims as objects, with their confidence.

    A detection whose first classification's verdict is a non-object label is left out. Its
    confidence is one minus the score of the non-object label when the classification ranks
    one (the chance of an object), else the score of its verdict, else 1; detections below
    ``min_score`` are left out too.
    """
    found = []
    for detection in result.detections:
        if detection.bbox is None:
            continue
        score = 1.0
        if detection.classifications:
            verdict = detection.classifications[0]
            if verdict.classification.strip().lower() in NOT_OBJECT_LABELS:
                continue
            score = _confidence(verdict.classification, verdict.labels or [], verdict.scores)
        if score < min_score:
            continue
        box = detection.bbox
        found.append(Prediction((box.x1, box.y1, box.x2, box.y2), score))
    return found


def _confidence(label: str, labels: Sequence[str], scores: Sequence[float]) -> float:
    if len(labels) != len(scores) or not scores:
        return max(scores, default=1.0)
    for name, score in zip(labels, scores, strict=True):
        if name.strip().lower() in NOT_OBJECT_LABELS:
            return 1.0 - score
    return scores[labels.index(label)] if label in labels else max(scores)


def score_image(truth: TruthImage, found: Sequence[Prediction]) -> ImageScore:
    """``found`` matched against ``truth`` at every threshold of ``IOU_THRESHOLDS``."""
    objects = truth.objects
    matchings = {threshold: match(found, objects, threshold) for threshold in IOU_THRESHOLDS}
    lowest = matchings[min(IOU_THRESHOLDS)]
    on_not_objects = sum(
        1
        for prediction, matched in zip(found, lowest.matches, strict=True)
        if matched is None and any(_centre_in(prediction.rect, r) for r in truth.not_objects)
    )
    return ImageScore(truth, list(found), matchings, on_not_objects)


def _centre_in(rect: tuple[float, ...], region: tuple[float, ...]) -> bool:
    x, y = (rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2
    return region[0] <= x <= region[2] and region[1] <= y <= region[3]


def evaluate(
    pipeline: Pipeline,
    images_dir: Path,
    truth: Sequence[TruthImage],
    *,
    min_score: float | None = None,
    draw_dir: Path | None = None,
    max_pixels: int = DEFAULT_MAX_DECODE_PIXELS,
) -> Report:
    """Run ``pipeline`` on every photo ``truth`` names (under ``images_dir``) and score it.

    Raises:
        InvalidInput: a photo the ground truth names is missing, unreadable or not an image.

    ``min_score`` defaults to the pipeline's ``default_threshold`` (0 when it has none).
    """
    if min_score is None:
        min_score = pipeline.default_threshold or 0.0
    if draw_dir is not None:
        from trapline.evaluation.drawing import draw, draw_cases  # only when asked: slower

    pipeline.load()
    scores = []
    for number, image_truth in enumerate(truth):
        path = _photo(images_dir, image_truth.file_name)
        try:
            source = decode(path.read_bytes(), str(number), max_pixels=max_pixels)
        except (OSError, ImageError) as exc:
            raise InvalidInput(f"cannot read {path}: {exc}") from exc
        (result,) = pipeline.process([source])
        image_truth = scale_normalised(image_truth, source.size)
        scores.append(score_image(image_truth, predictions(result, min_score)))
        if draw_dir is not None:
            stem = Path(image_truth.file_name).stem
            draw(source, scores[-1], draw_dir / f"{stem}.jpg")
            draw_cases(source, scores[-1], draw_dir, stem)
    return Report(scores)


def _photo(images_dir: Path, file_name: str) -> Path:
    """The photo ``file_name`` under ``images_dir``, refusing names that lead outside it."""
    root = images_dir.resolve()
    path = (root / file_name).resolve()
    if not path.is_relative_to(root):
        raise InvalidInput(f"ground truth names {file_name!r}, which is outside {images_dir}")
    if not path.is_file():
        raise InvalidInput(f"ground truth names {file_name!r}, which is not in {images_dir}")
    size = path.stat().st_size
    if size > MAX_PHOTO_BYTES:
        raise InvalidInput(f"{path} is {size} bytes; the limit is {MAX_PHOTO_BYTES}")
    return path


def format_report(report: Report) -> str:
    """The report as plain-text tables: per photo, then all photos pooled, with the boxes that
    merge or split objects; then recall by the size of the true boxes."""
    header = ["image", "truth", "found"]
    for threshold in IOU_THRESHOLDS:
        header += [f"P@{threshold}", f"R@{threshold}", f"F1@{threshold}"]
    header += ["on non-objects", "merged", "split"]
    rows = []
    for image in report.images:
        row = [image.truth.file_name, str(len(image.truth.objects)), str(len(image.predictions))]
        for threshold in IOU_THRESHOLDS:
            row += _figures(image.counts(threshold))
        rows.append([*row, str(image.on_not_objects), str(image.merged), str(image.split)])
    truth_total = sum(len(image.truth.objects) for image in report.images)
    found_total = sum(len(image.predictions) for image in report.images)
    row = ["overall", str(truth_total), str(found_total)]
    for threshold in IOU_THRESHOLDS:
        row += _figures(report.overall(threshold))
    rows.append(
        [
            *row,
            str(sum(image.on_not_objects for image in report.images)),
            str(sum(image.merged for image in report.images)),
            str(sum(image.split for image in report.images)),
        ]
    )
    # Per threshold: each photo's (found, true boxes) per size band, computed once.
    bands = {t: [image.by_size(t) for image in report.images] for t in IOU_THRESHOLDS}
    sizes = [["true box (long side)", "truth"] + [f"R@{t}" for t in IOU_THRESHOLDS]]
    for band, (_, _, name) in enumerate(SIZE_BANDS):
        truths = sum(photo[band][1] for photo in bands[IOU_THRESHOLDS[0]])
        recalls = [
            f"{sum(photo[band][0] for photo in bands[t]) / truths:.2f}" if truths else "-"
            for t in IOU_THRESHOLDS
        ]
        sizes.append([name, str(truths), *recalls])
    return _table([header, *rows], totals=True) + "\n\n" + _table(sizes, totals=False)


def _table(lines: list[list[str]], *, totals: bool) -> str:
    """Columns padded to their widest cell (the first left, the rest right), a rule under the
    header and, with ``totals``, above the last line."""
    widths = [max(len(line[i]) for line in lines) for i in range(len(lines[0]))]
    text = [
        "  ".join(
            cell.ljust(w) if i == 0 else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(line, widths, strict=True))
        )
        for line in lines
    ]
    rule = "  ".join("-" * w for w in widths)
    text.insert(1, rule)
    if totals:
        text.insert(len(text) - 1, rule)
    return "\n".join(text)


def _figures(counts: Counts) -> list[str]:
    return [f"{counts.precision:.2f}", f"{counts.recall:.2f}", f"{counts.f1:.2f}"]
