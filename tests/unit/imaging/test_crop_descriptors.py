"""Crop descriptors (``imaging/descriptors.py``, decision 074): what a refit on crops reads
where a pipeline gives no features. Their colour part is tracking's histogram, untouched; the
numbers after it follow the foreground's colour, the box's size, the insect's elongation and
pattern, whichever way it faces."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from trapline.imaging.descriptors import (
    CROP_LENGTH,
    LEVELS,
    box_descriptors,
    crop_descriptor,
    crop_descriptors,
)
from trapline.imaging.synthetic import tinted_light_trap_jpeg

RUST, BLUE = (150, 85, 35), (45, 70, 150)
#: Where each number after the histogram is.
MEAN, SHARE, AREA, ELONGATION, BUSYNESS = slice(64, 67), 67, 68, 69, 70


def _described(jpeg: bytes, boxes: list[tuple[int, int, int, int]]) -> np.ndarray:
    return np.asarray(crop_descriptors(io.BytesIO(jpeg), [tuple(map(float, b)) for b in boxes]))


def test_a_crop_descriptor_is_trackings_histogram_then_seven_numbers() -> None:
    jpeg, moths = tinted_light_trap_jpeg(3, [RUST, BLUE], sizes=[0.06, 0.06])
    boxes = [tuple(map(float, m.box)) for m in moths]

    described = crop_descriptors(io.BytesIO(jpeg), boxes)
    tracked = box_descriptors(io.BytesIO(jpeg), boxes)

    assert CROP_LENGTH == LEVELS**3 + 7
    assert [len(d) for d in described] == [CROP_LENGTH, CROP_LENGTH]
    assert [d[: LEVELS**3] for d in described] == tracked
    assert crop_descriptors(io.BytesIO(jpeg), []) == []


def test_insects_of_two_colours_differ_and_one_colour_on_two_nights_matches() -> None:
    first, (rust, blue) = tinted_light_trap_jpeg(3, [RUST, BLUE], sizes=[0.06, 0.06])
    second, (rust_again,) = tinted_light_trap_jpeg(9, [RUST], sizes=[0.06])
    a, b = _described(first, [rust.box, blue.box])
    (c,) = _described(second, [rust_again.box])

    histogram = slice(0, LEVELS**3)
    assert float(a[histogram] @ c[histogram]) > 0.8  # the same colour on another sheet
    assert float(a[histogram] @ b[histogram]) < 0.3
    # Its mean colour is the wings' (the sheet around it left out): rust is red, blue is blue.
    assert a[MEAN][0] > a[MEAN][2] + 0.2
    assert b[MEAN][2] > b[MEAN][0] + 0.2


def test_size_follows_the_box_and_elongation_ignores_which_way_it_faces() -> None:
    sheet = np.full((200, 200, 3), 235, dtype=np.uint8)
    lying = sheet.copy()
    lying[90:110, 40:160] = (90, 60, 40)  # 120 x 20, along the rows
    standing = np.ascontiguousarray(np.rot90(lying))
    round_one = sheet.copy()
    yy, xx = np.mgrid[:200, :200]
    round_one[(yy - 100) ** 2 + (xx - 100) ** 2 < 30**2] = (90, 60, 40)

    along = crop_descriptor(lying[70:130, 20:180], (20.0, 70.0, 180.0, 130.0))
    across = crop_descriptor(standing[20:180, 70:130], (70.0, 20.0, 130.0, 180.0))
    blob = crop_descriptor(round_one[60:140, 60:140], (60.0, 60.0, 140.0, 140.0))

    assert along[ELONGATION] == pytest.approx(across[ELONGATION], rel=1e-6)
    assert along[ELONGATION] > 1.0 > blob[ELONGATION]
    assert along[AREA] == pytest.approx(np.log(160 * 60))
    assert along[SHARE] == pytest.approx(120 * 20 / (160 * 60))


def test_a_patterned_insect_is_busier_than_a_plain_one() -> None:
    plain = np.full((60, 60, 3), 235, dtype=np.uint8)
    plain[10:50, 10:50] = (90, 60, 40)
    striped = plain.copy()
    striped[10:50:4, 10:50] = (170, 140, 110)

    box = (0.0, 0.0, 60.0, 60.0)
    assert crop_descriptor(striped, box)[BUSYNESS] > 2 * crop_descriptor(plain, box)[BUSYNESS]


def test_a_tiny_box_and_an_all_background_box_are_described() -> None:
    sheet = Image.new("RGB", (64, 48), (235, 230, 215))
    out = io.BytesIO()
    sheet.save(out, "JPEG")
    found = crop_descriptors(io.BytesIO(out.getvalue()), [(5.0, 5.0, 6.0, 6.0), (0, 0, 64, 48)])
    assert all(len(d) == CROP_LENGTH and np.isfinite(d).all() for d in found)
