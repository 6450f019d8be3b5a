"""A YOLO-style ONNX object detector: MegaDetector v5/v6 and other YOLOv5/YOLOv8 exports.

Each image is letterboxed (scaled to fit the model's input, keeping its aspect, padded with grey
114) and the batch runs through the model in one call. The raw output holds a row per candidate
box, centre x, centre y, width and height in input pixels, then scores:

- ``yolov5``: ``(N, boxes, 5 + classes)``; an objectness score, then class scores; a box's score
  is objectness times its best class score;
- ``yolov8``: ``(N, 4 + classes, boxes)``; class scores only.

Boxes under the confidence threshold are dropped, overlapping boxes of one class are suppressed
and the rest are mapped back from the letterbox to original-image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from trapline.errors import InvalidInput
from trapline.pipelines.base import Box, SourceImage
from trapline.pipelines.nms import non_max_suppression
from trapline.pipelines.onnx_session import OnnxSession, open_session
from trapline.pipelines.spec import DetectorSpec
from trapline.pipelines.weights import weights_file

FloatArray = NDArray[np.float32]

#: Grey the letterbox is padded with, as in YOLO training.
PAD_GREY = 114
#: Most candidate boxes per image that go into suppression, best first.
MAX_CANDIDATES = 10_000


@dataclass(frozen=True)
class Letterbox:
    """Where an image sits in the model's input: its top-left corner and its scale per axis."""

    left: int
    top: int
    scale_x: float
    scale_y: float

    def to_image(self, boxes: FloatArray) -> FloatArray:
        """``(x1, y1, x2, y2)`` rows in input pixels as pixels of the letterboxed image."""
        offset = np.array([self.left, self.top, self.left, self.top], dtype=np.float32)
        scale = np.array([self.scale_x, self.scale_y, self.scale_x, self.scale_y])
        return np.asarray((boxes - offset) / scale, dtype=np.float32)


def letterbox(image: Image.Image, size: tuple[int, int]) -> tuple[NDArray[np.uint8], Letterbox]:
    """``image`` scaled to fit ``size`` (width, height) keeping its aspect, centred on grey.

    Returns the ``(height, width, 3)`` RGB array and where the image sits in it.
    """
    width, height = size
    ratio = min(width / image.width, height / image.height)
    fitted = (max(1, round(image.width * ratio)), max(1, round(image.height * ratio)))
    left, top = (width - fitted[0]) // 2, (height - fitted[1]) // 2
    canvas = Image.new("RGB", size, (PAD_GREY,) * 3)
    canvas.paste(image.convert("RGB").resize(fitted, Image.Resampling.BILINEAR), (left, top))
    placement = Letterbox(left, top, fitted[0] / image.width, fitted[1] / image.height)
    return np.asarray(canvas, dtype=np.uint8), placement


def decode(
    rows: FloatArray, layout: str, class_count: int
) -> tuple[FloatArray, FloatArray, NDArray[np.int64]]:
    """One image's raw output as ``(x1, y1, x2, y2)`` boxes, scores and class indices.

    Raises:
        InvalidInput: the output's shape does not fit the layout and the number of labels.
    """
    if layout == "yolov8":
        if rows.ndim != 2 or rows.shape[0] != 4 + class_count:
            raise InvalidInput(
                f"a yolov8 detector with {class_count} labels must output "
                f"(N, {4 + class_count}, boxes); this one gives {_shape(rows)}"
            )
        rows = rows.T
        class_scores = rows[:, 4:]
        classes = class_scores.argmax(axis=1)
        scores = class_scores[np.arange(len(rows)), classes]
    else:
        if rows.ndim != 2 or rows.shape[1] != 5 + class_count:
            raise InvalidInput(
                f"a yolov5 detector with {class_count} labels must output "
                f"(N, boxes, {5 + class_count}); this one gives {_shape(rows)}"
            )
        class_scores = rows[:, 5:]
        classes = class_scores.argmax(axis=1)
        scores = rows[:, 4] * class_scores[np.arange(len(rows)), classes]
    centre_x, centre_y, half_w, half_h = rows[:, 0], rows[:, 1], rows[:, 2] / 2, rows[:, 3] / 2
    boxes = np.stack(
        [centre_x - half_w, centre_y - half_h, centre_x + half_w, centre_y + half_h], axis=1
    )
    return boxes.astype(np.float32), scores.astype(np.float32), classes.astype(np.int64)


class OnnxDetector:
    """The detector stage of a spec pipeline; ``load`` opens its session."""

    def __init__(self, spec: DetectorSpec, cache_dir: Path | None = None) -> None:
        self.spec = spec
        self.cache_dir = cache_dir
        self._session: OnnxSession | None = None

    def load(self) -> None:
        """Fetch the weights (downloading them once) and open the inference session."""
        self._ready()

    def detect(self, batch: Sequence[SourceImage]) -> list[list[Box]]:
        """Boxes found in each image, in original-image pixels, best first."""
        session = self._ready()
        found: list[list[Box]] = []
        for start in range(0, len(batch), self.spec.batch_size):
            chunk = batch[start : start + self.spec.batch_size]
            arrays, placements = zip(
                *(letterbox(image.image, self.spec.input_size) for image in chunk), strict=True
            )
            tensor = np.stack(arrays).transpose(0, 3, 1, 2).astype(np.float32) / 255.0
            outputs = session.run(tensor)
            if outputs.shape[0] != len(chunk):
                raise InvalidInput(
                    f"detector {session.path.name} gave {outputs.shape[0]} outputs for a "
                    f"batch of {len(chunk)} images"
                )
            for image, output, placement in zip(chunk, outputs, placements, strict=True):
                found.append(self._boxes(image, output, placement))
        return found

    def _ready(self) -> OnnxSession:
        if self._session is None:
            path = weights_file(self.spec.weights, self.spec.sha256, self.cache_dir)
            self._session = open_session(path)
        return self._session

    def _boxes(self, image: SourceImage, output: FloatArray, placement: Letterbox) -> list[Box]:
        spec = self.spec
        boxes, scores, classes = decode(output, spec.layout, len(spec.labels))
        confident = np.flatnonzero(scores >= spec.confidence)
        confident = confident[np.argsort(-scores[confident], kind="stable")][:MAX_CANDIDATES]
        boxes, scores, classes = boxes[confident], scores[confident], classes[confident]
        kept = non_max_suppression(
            boxes, scores, classes, iou_threshold=spec.iou, max_boxes=spec.max_detections
        )
        in_image = placement.to_image(boxes[kept])
        found = [
            image.to_original(
                Box(
                    x1=float(x1),
                    y1=float(y1),
                    x2=float(x2),
                    y2=float(y2),
                    score=float(scores[index]),
                    label=spec.labels[int(classes[index])],
                )
            )
            for (x1, y1, x2, y2), index in zip(in_image, kept, strict=True)
        ]
        # A box that lay wholly on the padding has no area left once clipped to the image.
        return [box for box in found if box.area > 0]


def _shape(rows: FloatArray) -> str:
    return "(N, " + ", ".join(str(side) for side in rows.shape) + ")"
