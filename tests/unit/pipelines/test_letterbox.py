"""The letterbox is YOLOv5's, as MegaDetector's runner calls it: the same input array pixel for
pixel (OpenCV's resize, stride-64 rectangle, padding split as YOLOv5 splits it) and boxes
mapped back as ``scale_coords`` maps them, against tests/support/megadetector_rule.py."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from tests.support import megadetector_rule
from trapline.pipelines.letterbox import PAD_GREY, Letterbox, letterbox

#: (photo width, height) -> the model input's (width, height) at 1280, stride 64.
SHAPES = {
    (2048, 1440): (1280, 960),  # 1280 x 900, padded 30 above and below
    (1440, 2048): (960, 1280),
    (1920, 1080): (1280, 768),
    (640, 480): (1280, 960),  # scaled up
    (1001, 667): (1280, 896),
    (2560, 1920): (1280, 960),  # halved
    (4000, 3000): (1280, 960),
    (310, 2000): (256, 1280),  # 198 wide, 29 either side
}


def noise(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), np.uint8)
    return Image.fromarray(pixels)


@pytest.mark.parametrize(("size", "expected"), SHAPES.items(), ids=lambda v: "x".join(map(str, v)))
def test_the_input_is_megadetectors_pixel_for_pixel(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    image = noise(*size)
    pixels, placement = letterbox(image, (1280, 1280), stride=64)
    assert placement == Letterbox(input_size=expected, image_size=size)
    theirs = megadetector_rule.letterbox(np.asarray(image))
    assert pixels.shape == theirs.shape == (expected[1], expected[0], 3)
    np.testing.assert_array_equal(pixels, theirs)


def test_without_a_stride_the_photo_is_padded_to_the_whole_input() -> None:
    pixels, placement = letterbox(Image.new("RGB", (2048, 1440), (200, 10, 10)), (1280, 1280))
    assert placement == Letterbox(input_size=(1280, 1280), image_size=(2048, 1440))
    # 1280 x 900 in the middle: 190 grey rows above and below.
    assert (pixels[:190] == PAD_GREY).all()
    assert (pixels[1090:] == PAD_GREY).all()
    assert (pixels[190:1090] == (200, 10, 10)).all()


@pytest.mark.parametrize("size", list(SHAPES), ids=lambda v: "x".join(map(str, v)))
def test_boxes_come_back_as_scale_coords_brings_them(size: tuple[int, int]) -> None:
    pixels, placement = letterbox(noise(*size), (1280, 1280), stride=64)
    rng = np.random.default_rng(1)
    corner = rng.uniform(-40, 1300, (200, 2))
    boxes = np.concatenate([corner, corner + rng.uniform(1, 400, (200, 2))], axis=1)
    boxes = boxes.astype(np.float32)
    theirs = megadetector_rule.scale_coords(pixels.shape[:2], boxes, (size[1], size[0], 3))
    np.testing.assert_array_equal(placement.to_image(boxes), np.round(theirs))
