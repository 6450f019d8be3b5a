"""MegaDetector's own runner re-derived, to compare trapline's boxes with.

The ``megadetector`` package cannot be installed without PyTorch (it requires
``ultralytics-yolov5``, which requires torch), so its pre- and post-processing are written out
here from its source, with the network itself run by ONNX Runtime from trapline's conversion
(checked against PyTorch's forward pass in test_yolov5_onnx.py). Sources, read at
agentmorris/MegaDetector 136e1e3 and ultralytics/yolov5 v7.0:

- ``megadetector/detection/pytorch_detector.py``, ``PTDetector.preprocess_image`` in the
  default ``classic`` compatibility mode: no resize before the letterbox, then
  ``letterbox(img_original, new_shape=1280, stride=64, auto=True, scaleFill=False,
  scaleup=True)`` on the RGB array of the PIL image;
- YOLOv5 ``utils/augmentations.py`` ``letterbox``: ``r = min(new_h / h, new_w / w)``,
  ``new_unpad = (round(w * r), round(h * r))``, padding ``np.mod(new - unpad, stride) / 2``,
  ``cv2.resize(..., interpolation=cv2.INTER_LINEAR)``, ``top = round(dh - 0.1)``,
  ``bottom = round(dh + 0.1)`` (and left/right alike), ``cv2.copyMakeBorder`` with 114;
- ``_process_batch_group``: CHW, ``/ 255.0``, the model, ``nms(prediction,
  conf_thres=detection_threshold, iou_thres=0.45)``, then ``scale_coords(batch_tensor.shape[2:],
  det[:, :4], img_original.shape).round()``;
- ``nms``: rows with objectness ``> conf_thres``; ``class_conf = classes * objectness``; the best
  class per row, kept when ``> conf_thres``; ``torchvision.ops.nms`` per class (a box goes when
  its IoU with a better one is ``> iou_thres``); all classes sorted by confidence, at most 300;
- YOLOv5 ``utils/general.py`` ``scale_boxes``: ``gain = min(h1 / h0, w1 / w0)``, ``pad = ((w1 -
  w0 * gain) / 2, (h1 - h0 * gain) / 2)``, subtract, divide, ``clip_boxes`` to the photo.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from PIL import Image

#: ``PTDetector``: image size and letterbox stride for MegaDetector v5; ``nms``'s classic IoU.
IMAGE_SIZE, STRIDE, IOU = 1280, 64, 0.45
LABELS = ("animal", "person", "vehicle")


def letterbox(pixels: np.ndarray, new_shape: int = IMAGE_SIZE, stride: int = STRIDE) -> Any:
    """YOLOv5's letterbox with ``auto=True, scaleFill=False, scaleup=True``."""
    height, width = pixels.shape[:2]
    r = min(new_shape / height, new_shape / width)
    new_unpad = round(width * r), round(height * r)
    dw, dh = np.mod(new_shape - new_unpad[0], stride), np.mod(new_shape - new_unpad[1], stride)
    dw, dh = dw / 2, dh / 2
    if (width, height) != new_unpad:
        pixels = cv2.resize(pixels, new_unpad, interpolation=cv2.INTER_LINEAR)
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    grey = (114, 114, 114)
    return cv2.copyMakeBorder(pixels, top, bottom, left, right, cv2.BORDER_CONSTANT, value=grey)


def _torchvision_nms(boxes: np.ndarray, scores: np.ndarray, iou_thres: float) -> list[int]:
    order = list(np.argsort(-scores, kind="stable"))
    keep: list[int] = []
    area = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    while order:
        best, order = order[0], order[1:]
        keep.append(int(best))
        if not order:
            break
        rest = np.array(order)
        left = np.maximum(boxes[best, 0], boxes[rest, 0])
        top = np.maximum(boxes[best, 1], boxes[rest, 1])
        right = np.minimum(boxes[best, 2], boxes[rest, 2])
        bottom = np.minimum(boxes[best, 3], boxes[rest, 3])
        inter = np.clip(right - left, 0, None) * np.clip(bottom - top, 0, None)
        iou = inter / (area[best] + area[rest] - inter)
        order = [int(i) for i, o in zip(rest, iou, strict=True) if not o > iou_thres]
    return keep


def nms(rows: np.ndarray, conf_thres: float, iou_thres: float = IOU, max_det: int = 300) -> Any:
    """``pytorch_detector.nms`` for one image: ``[x1, y1, x2, y2, conf, class]`` rows."""
    rows = rows[rows[:, 4] > conf_thres]
    box = np.stack(
        [
            rows[:, 0] - rows[:, 2] / 2.0,
            rows[:, 1] - rows[:, 3] / 2.0,
            rows[:, 0] + rows[:, 2] / 2.0,
            rows[:, 1] + rows[:, 3] / 2.0,
        ],
        axis=1,
    )
    class_conf = rows[:, 5:] * rows[:, 4:5]
    best_idx, best_conf = class_conf.argmax(1), class_conf.max(1)
    mask = best_conf > conf_thres
    box, best_conf, best_idx = box[mask], best_conf[mask], best_idx[mask]
    found = []
    for class_id in np.unique(best_idx):
        members = np.flatnonzero(best_idx == class_id)
        for k in _torchvision_nms(box[members], best_conf[members], iou_thres):
            n = members[k]
            found.append([*box[n], best_conf[n], class_id])
    found.sort(key=lambda row: -row[4])
    return np.array(found[:max_det], dtype=np.float32).reshape(-1, 6)


def scale_coords(img1_shape: tuple[int, int], boxes: np.ndarray, img0_shape: Any) -> Any:
    """YOLOv5's ``scale_boxes`` with ``clip_boxes``; shapes are (height, width)."""
    gain = min(img1_shape[0] / img0_shape[0], img1_shape[1] / img0_shape[1])
    pad = (img1_shape[1] - img0_shape[1] * gain) / 2, (img1_shape[0] - img0_shape[0] * gain) / 2
    boxes = boxes.copy()
    boxes[:, [0, 2]] -= pad[0]
    boxes[:, [1, 3]] -= pad[1]
    boxes[:, :4] /= gain
    boxes[:, [0, 2]] = boxes[:, [0, 2]].clip(0, img0_shape[1])
    boxes[:, [1, 3]] = boxes[:, [1, 3]].clip(0, img0_shape[0])
    return boxes


def detections(
    session: Any, image: Image.Image, threshold: float
) -> list[tuple[str, float, tuple[float, ...]]]:
    """What MegaDetector's runner finds in ``image``: label, confidence and box in the photo's
    pixels (before its JSON writer divides by the photo's size), best first."""
    original = np.asarray(image.convert("RGB"))
    img = letterbox(original)
    tensor = np.ascontiguousarray(img.transpose((2, 0, 1)))[None].astype(np.float32) / 255.0
    (prediction,) = session.run(None, {session.get_inputs()[0].name: tensor})
    det = nms(prediction[0], threshold)
    det[:, :4] = np.round(scale_coords(tensor.shape[2:], det[:, :4], original.shape))
    return [(LABELS[int(c)], float(conf), (x1, y1, x2, y2)) for x1, y1, x2, y2, conf, c in det]
