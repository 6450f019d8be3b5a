"""The ONNX detector: YOLOv5 and YOLOv8 decoding, suppression, letterbox and box mapping."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.onnx_models import channel_mean_model, constant_model
from trapline.errors import InvalidInput, MissingDependency
from trapline.pipelines import SourceImage
from trapline.pipelines.letterbox import PAD_GREY, Letterbox, letterbox
from trapline.pipelines.nms import iou, non_max_suppression
from trapline.pipelines.onnx_detector import OnnxDetector
from trapline.pipelines.onnx_session import open_session
from trapline.pipelines.spec import DetectorSpec

LABELS = ["animal", "person"]
# Candidate rows of a YOLOv5 output in input pixels: cx, cy, w, h, objectness, class scores.
V5_ROWS = [
    [20, 20, 10, 10, 0.9, 0.9, 0.1],  # animal, 0.81
    [21, 20, 10, 10, 0.8, 0.9, 0.1],  # animal, 0.72, overlaps the first: suppressed
    [21, 21, 10, 10, 0.9, 0.2, 0.8],  # person, 0.72, overlaps too but is another class: kept
    [50, 50, 8, 8, 0.3, 0.5, 0.5],  # 0.15, under the confidence threshold
]
EXPECTED = [
    ("animal", pytest.approx(0.81), (15, 15, 25, 25)),
    ("person", pytest.approx(0.72), (16, 16, 26, 26)),
]


def detector(weights: Path, layout: str = "yolov5", **options: object) -> OnnxDetector:
    spec = DetectorSpec.model_validate(
        {"weights": str(weights), "input_size": 64, "layout": layout, "labels": LABELS, **options}
    )
    return OnnxDetector(spec)


def found(boxes: list) -> list[tuple[str, object, tuple[float, ...]]]:
    return [
        (box.label, box.score, tuple(round(value, 4) for value in (box.x1, box.y1, box.x2, box.y2)))
        for box in boxes
    ]


def blank(image_id: str = "a", size: tuple[int, int] = (64, 64)) -> SourceImage:
    return SourceImage(image_id, Image.new("RGB", size, "white"))


def test_yolov5_output_is_thresholded_and_suppressed_per_class(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "v5.onnx", np.array([V5_ROWS]), input_shape=["N", 3, 64, 64])
    (boxes,) = detector(model).detect([blank()])
    assert found(boxes) == EXPECTED


def test_yolov8_output_has_no_objectness_and_boxes_last(tmp_path: Path) -> None:
    rows = np.array([[*row[:4], row[4] * row[5], row[4] * row[6]] for row in V5_ROWS])
    model = constant_model(tmp_path / "v8.onnx", rows.T[None], input_shape=["N", 3, 64, 64])
    (boxes,) = detector(model, "yolov8").detect([blank()])
    assert found(boxes) == EXPECTED


def test_boxes_map_from_the_letterbox_to_original_pixels(tmp_path: Path) -> None:
    # A 200x100 decode of a 400x200 photo fits the 64x64 input as 64x32, 16 pixels from the top.
    row = [32, 32, 32, 16, 1.0, 1.0, 0.0]  # (16, 24)-(48, 40) in the input
    model = constant_model(tmp_path / "m.onnx", np.array([[row]]), input_shape=["N", 3, 64, 64])
    wide = SourceImage("wide", Image.new("RGB", (200, 100)), original_size=(400, 200))
    # A 100x200 photo fits as 32x64, 16 pixels from the left.
    tall = SourceImage("tall", Image.new("RGB", (100, 200)))
    wide_boxes, tall_boxes = detector(model).detect([wide, tall])
    assert found(wide_boxes) == [("animal", 1.0, (100.0, 50.0, 300.0, 150.0))]
    assert found(tall_boxes) == [("animal", 1.0, (0.0, 75.0, 100.0, 125.0))]


def test_boxes_are_clipped_to_the_image_and_boxes_on_the_padding_dropped(tmp_path: Path) -> None:
    rows = [[4, 32, 16, 16, 1.0, 1.0, 0.0], [32, 2, 16, 8, 1.0, 0.0, 1.0]]
    model = constant_model(tmp_path / "m.onnx", np.array([rows]), input_shape=["N", 3, 64, 64])
    tall = SourceImage("tall", Image.new("RGB", (100, 200)))  # sits from x=16 to x=48
    (boxes,) = detector(model).detect([tall])
    # The first box reaches from x=-4 to 12 in the input: all of it on the left padding; the
    # second from y=-2 to 6, partly above the image (18.75 rounded to a whole pixel).
    assert found(boxes) == [("person", 1.0, (25.0, 0.0, 75.0, 19.0))]


def test_a_model_with_a_fixed_batch_runs_in_chunks(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "one.onnx", np.array([V5_ROWS]), input_shape=[1, 3, 64, 64])
    images = [blank(str(number)) for number in range(3)]
    assert [found(boxes) for boxes in detector(model, batch_size=2).detect(images)] == [
        EXPECTED
    ] * 3
    assert open_session(model).fixed_batch == 1


def test_max_detections_keeps_the_best(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "v5.onnx", np.array([V5_ROWS]), input_shape=["N", 3, 64, 64])
    (boxes,) = detector(model, max_detections=1).detect([blank()])
    assert found(boxes) == EXPECTED[:1]


def test_an_output_that_does_not_fit_the_layout_is_explained(tmp_path: Path) -> None:
    model = constant_model(tmp_path / "v5.onnx", np.array([V5_ROWS]), input_shape=["N", 3, 64, 64])
    with pytest.raises(InvalidInput, match=r"yolov8 detector with 2 labels must output \(N, 6"):
        detector(model, "yolov8").detect([blank()])


def test_letterbox_pads_with_grey_and_keeps_the_aspect() -> None:
    pixels, placement = letterbox(Image.new("RGB", (100, 50), (255, 0, 0)), (64, 64))
    assert pixels.shape == (64, 64, 3)
    assert placement == Letterbox(input_size=(64, 64), image_size=(100, 50))
    assert (pixels[:16] == PAD_GREY).all()
    assert (pixels[48:] == PAD_GREY).all()
    assert (pixels[16:48] == (255, 0, 0)).all()


def test_the_model_sees_pixels_scaled_to_0_1_in_nchw(tmp_path: Path) -> None:
    model = open_session(channel_mean_model(tmp_path / "mean.onnx", input_shape=["N", 3, 4, 4]))
    pixels, _ = letterbox(Image.new("RGB", (4, 4), (255, 51, 0)), (4, 4))
    tensor = pixels[None].transpose(0, 3, 1, 2).astype(np.float32) / 255.0
    assert model.run(tensor).tolist() == [pytest.approx([1.0, 0.2, 0.0])]


def test_iou_of_boxes() -> None:
    box = np.array([0, 0, 10, 10], dtype=np.float32)
    others = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30], [3, 3, 3, 3]])
    assert iou(box, others.astype(np.float32)).tolist() == pytest.approx([1.0, 1 / 3, 0.0, 0.0])


def test_suppression_is_per_class_and_best_first() -> None:
    boxes = np.array(
        [[0, 0, 10, 10], [1, 0, 11, 10], [0, 0, 10, 10], [50, 50, 60, 60]], dtype=np.float32
    )
    scores = np.array([0.5, 0.9, 0.7, 0.6], dtype=np.float32)
    classes = np.array([0, 0, 1, 0], dtype=np.int64)
    kept = non_max_suppression(boxes, scores, classes, iou_threshold=0.5, max_boxes=10)
    assert kept.tolist() == [1, 2, 3]
    kept = non_max_suppression(boxes, scores, classes, iou_threshold=0.5, max_boxes=2)
    assert kept.tolist() == [1, 2]
    empty = np.empty((0, 4), dtype=np.float32)
    assert (
        non_max_suppression(
            empty, np.empty(0, np.float32), np.empty(0, np.int64), iou_threshold=0.5, max_boxes=5
        ).tolist()
        == []
    )


def test_without_onnxruntime_loading_says_how_to_install_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = constant_model(tmp_path / "v5.onnx", np.array([V5_ROWS]), input_shape=["N", 3, 64, 64])
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    with pytest.raises(MissingDependency, match=r"pip install 'trapline\[onnx\]'"):
        detector(model).load()


def test_a_file_that_is_not_a_model_is_refused(tmp_path: Path) -> None:
    (tmp_path / "junk.onnx").write_bytes(b"not a model")
    with pytest.raises(InvalidInput, match="is not a model onnxruntime can run"):
        detector(tmp_path / "junk.onnx").load()


def test_with_a_stride_photos_of_other_aspects_run_at_their_own_shapes(tmp_path: Path) -> None:
    # The same box, (24, 24)-(40, 40), in whatever input the model gets: 64 x 48 for a
    # landscape photo (scale 0.32, no padding needed at stride 16), 48 x 64 for a portrait one.
    row = [32, 32, 16, 16, 1.0, 1.0, 0.0]
    model = constant_model(
        tmp_path / "any.onnx", np.array([[row]]), input_shape=["N", 3, "height", "width"]
    )
    wide = SourceImage("wide", Image.new("RGB", (200, 150)))
    tall = SourceImage("tall", Image.new("RGB", (150, 200)))
    wide_boxes, tall_boxes = detector(model, stride=16).detect([wide, tall])
    # Padded to the full 64 x 64 square, the photos would sit 8 pixels lower or further right.
    assert found(wide_boxes) == [("animal", 1.0, (75.0, 75.0, 125.0, 125.0))]
    assert found(tall_boxes) == [("animal", 1.0, (75.0, 75.0, 125.0, 125.0))]
