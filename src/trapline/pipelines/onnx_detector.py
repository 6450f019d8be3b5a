"""A YOLO-style ONNX object detector: MegaDetector v5/v6 and other YOLOv5/YOLOv8 exports.

Each image is letterboxed as YOLOv5 does it (``letterbox``: scaled to fit the model's input
keeping its aspect, with OpenCV, padded with grey 114; with a ``stride`` only to the next
multiple of it, for models that take any input size) and the images of a batch that share an
input shape run through the model in one call. The raw output holds a row per candidate box,
centre x, centre y, width and height in input pixels, then scores:

- ``yolov5``: ``(N, boxes, 5 + classes)``; an objectness score, then class scores; a box's score
  is objectness times its best class score;
- ``yolov8``: ``(N, 4 + classes, boxes)``; class scores only.

Boxes under the confidence threshold are dropped, overlapping boxes of one class are suppressed
and the rest are mapped back from the letterbox to original-image pixels.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput
from trapline.pipelines.base import Box, SourceImage
from trapline.pipelines.letterbox import Letterbox, letterbox
from trapline.pipelines.nms import non_max_suppression
from trapline.pipelines.onnx_session import OnnxSession, open_session
from trapline.pipelines.spec import DetectorSpec
from trapline.pipelines.weights import weights_file

FloatArray = NDArray[np.float32]

#: Most candidate boxes per image that go into suppression, best first (YOLOv5's ``max_nms``).
MAX_CANDIDATES = 30_000


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
        size, stride = self.geometry()
        found: list[list[Box]] = []
        for start in range(0, len(batch), self.spec.batch_size):
            chunk = batch[start : start + self.spec.batch_size]
            fitted = [letterbox(image.image, size, stride) for image in chunk]
            # Photos of other aspects are fitted to other shapes: one model call per shape.
            rows_of: dict[int, FloatArray] = {}
            for shape in dict.fromkeys(array.shape for array, _ in fitted):
                members = [n for n, (array, _) in enumerate(fitted) if array.shape == shape]
                tensor = np.stack([fitted[n][0] for n in members]).transpose(0, 3, 1, 2)
                rows = session.run(tensor.astype(np.float32) / 255.0)
                if rows.shape[0] != len(members):
                    raise InvalidInput(
                        f"detector {session.path.name} gave {rows.shape[0]} outputs for a "
                        f"batch of {len(members)} images"
                    )
                rows_of.update(zip(members, rows, strict=True))
            for n, (image, (_, placement)) in enumerate(zip(chunk, fitted, strict=True)):
                found.append(self._boxes(image, rows_of[n], placement))
        return found

    def geometry(self) -> tuple[tuple[int, int], int | None]:
        """The size photos are fitted into and the stride they are padded to: the model's own
        height and width when it was exported with them fixed, else the spec's."""
        session = self._ready()
        fixed = session.input_shape[2:4] if len(session.input_shape) == 4 else ()
        if len(fixed) == 2 and fixed[0] is not None and fixed[1] is not None:
            return (fixed[1], fixed[0]), None
        return self.spec.input_size, self.spec.stride

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
