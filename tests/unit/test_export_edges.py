"""Export cells at the edges: spans across a clock change in the order of their instants, boxes
too thin to round to a size, and a label holding the tag list's separator."""

from __future__ import annotations

from datetime import datetime

from trapline.exports.base import MIN_SIDE, normalised, wall_span
from trapline.exports.camtrap_meaning import _tag_value
from trapline.exports.coco import coco_box


def test_a_span_across_a_skipped_hour_is_written_in_the_order_of_its_instants() -> None:
    # Paris, 2024-03-31: 02:30 does not exist and is read as +01:00 (01:30 UTC), later than
    # 03:00:01+02:00 (01:00:01 UTC), though earlier on the wall clock.
    skipped, after = datetime(2024, 3, 31, 2, 30), datetime(2024, 3, 31, 3, 0, 1)
    assert wall_span(skipped, 60, after, 120) == (
        "2024-03-31T03:00:01+02:00",
        "2024-03-31T02:30:00+01:00",
    )
    before = datetime(2024, 3, 31, 1, 59, 59)
    assert wall_span(before, 60, after, 120) == (
        "2024-03-31T01:59:59+01:00",
        "2024-03-31T03:00:01+02:00",
    )
    assert wall_span(after, None, after, None) == ("2024-03-31T03:00:01Z",) * 2


def test_boxes_thinner_than_what_is_written_keep_a_size_within_the_photo() -> None:
    assert normalised((50, 50, 50.0002, 60), 640, 480) == (0.078125, 0.104167, MIN_SIDE, 0.020833)
    x, y, w, h = normalised((639.9999, 479.9999, 640, 480), 640, 480)
    assert (w, h) == (MIN_SIDE, MIN_SIDE)
    assert x + w <= 1
    assert y + h <= 1
    assert normalised((64, 48, 320, 240), 640, 480) == (0.1, 0.1, 0.4, 0.4)

    assert coco_box((50, 50, 90, 50.0002), 640, 480) == ([50.0, 50.0, 40.0, 0.001], 0.008)
    (x, y, w, h), area = coco_box((639.9999, 479.9999, 640, 480), 640, 480)
    assert (x + w, y + h, w, h) == (640.0, 480.0, 0.001, 0.001)
    assert area > 0
    assert coco_box((10.25, 12, 60.5, 70), 640, 480) == ([10.25, 12, 50.25, 58], 2914.5)


def test_a_label_with_a_pipe_stays_one_tag() -> None:
    assert _tag_value("moth | big:one") == "moth %7C big:one"
    assert _tag_value("100% moth|fly") == "100%25 moth%7Cfly"
    assert _tag_value("Ardea alba") == "Ardea alba"
