"""A photo fitted into a YOLO detector's input as YOLOv5 fits it, and boxes mapped back.

The rule is YOLOv5's ``letterbox`` (``utils/augmentations.py``) and ``scale_boxes``
(``scale_coords`` before v7.0, ``utils/general.py``), which MegaDetector's runner calls
(``megadetector/detection/pytorch_detector.py``: ``PTDetector.preprocess_image`` with
``new_shape=1280, stride=64, auto=True, scaleup=True`` in its default "classic" mode, then
``scale_coords(...).round()`` in ``_process_batch_group``). Re-derived here from that code:

- the scale is ``min(height_in / height, width_in / width)``, up or down;
- the photo is resized to ``round(width * scale) x round(height * scale)`` with OpenCV's
  ``INTER_LINEAR`` (not PIL's bilinear, which averages over the whole footprint when it
  shrinks: a different picture);
- the padding to the input's size, or with a ``stride`` only to the next multiple of it
  (YOLOv5's ``auto``: a 2048 x 1440 photo becomes 1280 x 960 at stride 64, not 1280 x 1280),
  is split ``round(pad / 2 - 0.1)`` before and ``round(pad / 2 + 0.1)`` after, in grey 114;
- boxes come back by the gain and padding ``scale_boxes`` derives from the two shapes, are
  clipped to the photo and rounded to whole pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from trapline.errors import MissingDependency

#: Grey the letterbox is padded with, as in YOLO training.
PAD_GREY = 114
#: What to install for OpenCV, which resizes as YOLO models were trained.
ONNX_EXTRA_HINT = "pip install 'trapline[onnx]'"


@dataclass(frozen=True)
class Letterbox:
    """A photo's place in the model's input: both sizes, width first."""

    input_size: tuple[int, int]
    image_size: tuple[int, int]

    def to_image(self, boxes: NDArray[np.float32]) -> NDArray[np.float32]:
        """``(x1, y1, x2, y2)`` rows in input pixels as whole pixels of the photo, clipped to
        it (YOLOv5's ``scale_boxes``, then ``round``)."""
        (width_in, height_in), (width, height) = self.input_size, self.image_size
        gain = min(height_in / height, width_in / width)
        pad_x, pad_y = (width_in - width * gain) / 2, (height_in - height * gain) / 2
        mapped = np.array(boxes, dtype=np.float32)
        mapped[:, [0, 2]] -= pad_x
        mapped[:, [1, 3]] -= pad_y
        mapped[:, :4] /= gain
        mapped[:, [0, 2]] = mapped[:, [0, 2]].clip(0, width)
        mapped[:, [1, 3]] = mapped[:, [1, 3]].clip(0, height)
        return np.round(mapped)


def letterbox(
    image: Image.Image, size: tuple[int, int], stride: int | None = None
) -> tuple[NDArray[np.uint8], Letterbox]:
    """``image`` scaled to fit ``size`` (width, height) keeping its aspect, padded with grey
    to ``size``, or with ``stride`` to the smallest multiple of it that holds the photo.

    Returns the ``(height, width, 3)`` RGB array and where the photo sits in it.

    Raises:
        MissingDependency: OpenCV is not installed.
    """
    cv2 = _opencv()
    pixels = np.asarray(image.convert("RGB"))
    height, width = pixels.shape[:2]
    scale = min(size[1] / height, size[0] / width)
    fitted = (max(1, round(width * scale)), max(1, round(height * scale)))
    pad_x, pad_y = size[0] - fitted[0], size[1] - fitted[1]
    if stride is not None:
        pad_x, pad_y = pad_x % stride, pad_y % stride
    if fitted != (width, height):
        pixels = cv2.resize(pixels, fitted, interpolation=cv2.INTER_LINEAR)
    top, left = round(pad_y / 2 - 0.1), round(pad_x / 2 - 0.1)
    canvas = np.full((fitted[1] + pad_y, fitted[0] + pad_x, 3), PAD_GREY, dtype=np.uint8)
    canvas[top : top + fitted[1], left : left + fitted[0]] = pixels
    return canvas, Letterbox((canvas.shape[1], canvas.shape[0]), (width, height))


def _opencv() -> Any:
    try:
        import cv2
    except ImportError as exc:
        raise MissingDependency(f"ONNX detectors need OpenCV: {ONNX_EXTRA_HINT}") from exc
    return cv2
