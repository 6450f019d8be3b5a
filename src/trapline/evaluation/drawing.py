"""Photos with predicted and true boxes drawn, for a person to check an evaluation by eye.

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
