"""Photos with predicted and true boxes drawn, for a person to check an evaluation by eye; and
a close-up of every miss and every false find.

Colours: true boxes green (found) or orange (missed), not-insect regions purple, predictions
blue (matched) or red (false), all at the lowest IoU threshold of the report.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

from trapline.evaluation.scores import IOU_THRESHOLDS, ImageScore
from trapline.pipelines import SourceImage

#: Long side, in pixels, of the drawn copy.
DRAWN_SIZE = 2048
FOUND, MISSED, NOT_OBJECT = (40, 200, 60), (255, 140, 0), (170, 60, 210)
MATCHED, FALSE = (40, 110, 255), (230, 20, 20)


def draw(source: SourceImage, score: ImageScore, path: Path) -> None:
    """Write ``source`` reduced to ``DRAWN_SIZE`` with ``score``'s boxes drawn, as JPEG."""
    width, height = source.size
    ratio = min(1.0, DRAWN_SIZE / max(width, height))
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    image = source.image.resize(size, Image.Resampling.BILINEAR)
    pen = ImageDraw.Draw(image)
    line = max(2, round(max(size) / 700))
    matching = score.matchings[min(IOU_THRESHOLDS)]

    def rectangle(rect: tuple[float, float, float, float], colour: tuple[int, int, int]) -> None:
        pen.rectangle([value * ratio for value in rect], outline=colour, width=line)

    for rect in score.truth.not_objects:
        rectangle(rect, NOT_OBJECT)
    for rect, found in zip(score.truth.objects, matching.found, strict=True):
        rectangle(rect, FOUND if found else MISSED)
    for prediction, matched in zip(score.predictions, matching.matches, strict=True):
        rectangle(prediction.rect, MATCHED if matched is not None else FALSE)
        x, y = prediction.rect[0] * ratio, prediction.rect[1] * ratio
        pen.text(
            (x, max(0.0, y - 11)),
            f"{prediction.score:.2f}",
            fill=MATCHED if matched is not None else FALSE,
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path, quality=88)


#: Context around a close-up's box: this many times its long side on each side, at least
#: ``CASE_MARGIN_PX`` pixels of the photo.
CASE_MARGIN = 1.0
CASE_MARGIN_PX = 48


def draw_cases(source: SourceImage, score: ImageScore, folder: Path, stem: str) -> None:
    """A close-up of each missed true box (``folder/misses/``) and each false find
    (``folder/false-finds/``), with the box drawn and, for a false find, its score."""
    matching = score.matchings[min(IOU_THRESHOLDS)]
    misses = [r for r, found in zip(score.truth.objects, matching.found, strict=True) if not found]
    false = [
        p for p, matched in zip(score.predictions, matching.matches, strict=True) if matched is None
    ]
    for number, rect in enumerate(misses, start=1):
        _close_up(source, rect, MISSED, None, folder / "misses" / f"{stem}-{number}.jpg")
    for number, prediction in enumerate(false, start=1):
        path = folder / "false-finds" / f"{stem}-{number}.jpg"
        _close_up(source, prediction.rect, FALSE, prediction.score, path)


def _close_up(
    source: SourceImage,
    rect: tuple[float, float, float, float],
    colour: tuple[int, int, int],
    score: float | None,
    path: Path,
) -> None:
    # Boxes are in the photo's pixels; the decoded image may be reduced.
    (sx, sy), (width, height) = source.scale, source.image.size
    x1, y1, x2, y2 = rect[0] / sx, rect[1] / sy, rect[2] / sx, rect[3] / sy
    margin = max(CASE_MARGIN_PX, CASE_MARGIN * max(rect[2] - rect[0], rect[3] - rect[1])) / sx
    left, top = max(0, int(x1 - margin)), max(0, int(y1 - margin))
    right, bottom = min(width, int(x2 + margin) + 1), min(height, int(y2 + margin) + 1)
    crop = source.image.crop((left, top, right, bottom)).convert("RGB")
    pen = ImageDraw.Draw(crop)
    pen.rectangle([x1 - left, y1 - top, x2 - left, y2 - top], outline=colour, width=2)
    if score is not None:
        pen.text((2, 2), f"{score:.2f}", fill=colour)
    path.parent.mkdir(parents=True, exist_ok=True)
    crop.save(path, quality=90)
