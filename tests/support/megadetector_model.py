"""A stand-in for MegaDetector v5a: an ONNX model of its input and output layout (an RGB image
of any height and width in; rows of centre x, centre y, width, height in input pixels,
objectness and the scores of animal, person and vehicle out) that gives the same rows for
every image."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.support import megadetector_rule
from tests.support.onnx_models import constant_model
from trapline.pipelines.megadetector import WEIGHTS_NAME

#: The rows the stand-in gives, in input pixels (inside the 1280 x 960 input of a 4:3 or
#: 2048 x 1440 photo).
ROWS = [
    [640, 640, 200, 100, 0.95, 0.95, 0.03, 0.02],  # an animal, 0.9025
    [300, 500, 40, 80, 0.5, 0.1, 0.8, 0.1],  # a person, 0.40
    [900, 700, 60, 60, 0.2, 0.1, 0.15, 0.75],  # a vehicle, 0.15: kept, under the threshold
    [100, 900, 30, 30, 0.1, 0.3, 0.3, 0.4],  # 0.04: under what is kept at all
]


def stand_in(folder: Path) -> Path:
    """The stand-in model written where the pipeline looks for its weights in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    return constant_model(
        folder / WEIGHTS_NAME, np.array([ROWS]), input_shape=["N", 3, "height", "width"]
    )


def expected_boxes(width: int, height: int) -> list[tuple[str, float, tuple[float, ...]]]:
    """Label, score and box in the pixels of a ``width`` x ``height`` photo, for each row the
    pipeline keeps, best first: mapped back from the input MegaDetector's runner makes of the
    photo (1280 on the long side, padded to a multiple of 64) as its runner maps them."""
    shape = megadetector_rule.letterbox(np.zeros((height, width, 3), np.uint8)).shape
    labels = ("animal", "person", "vehicle")
    found = []
    for cx, cy, w, h, objectness, *scores in ROWS:
        best = int(np.argmax(scores))
        score = objectness * scores[best]
        if score < 0.05:
            continue
        corners = np.array([[cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]], np.float32)
        box = np.round(megadetector_rule.scale_coords(shape[:2], corners, (height, width)))[0]
        found.append((labels[best], score, tuple(float(v) for v in box)))
    return sorted(found, key=lambda item: -item[1])
