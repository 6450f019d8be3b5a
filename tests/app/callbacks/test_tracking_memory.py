"""Tracking two photos of 20,000 boxes each, as a server tracks them (the boxes stored through
the callback API, the event tracked by the tracking duty's own function, colour descriptors of
every crop read from the photos): the process's peak memory rises by at most 200 MB (issue 50:
two photos of 8,000 boxes took a server from 812 MiB to 6.2 GB). Then a new version of the
pipeline boxes the same insects again, and tracking hands the old boxes' occurrences on to
the new within the same bound."""

from __future__ import annotations

import os
import random
from datetime import timedelta

import pytest

from tests.support.callbacks import Pipeline, create_analysis
from tests.support.peak_memory import peak_rise
from tests.support.protocol_client import Protocol, api_get
from tests.support.scenes import add_frames, event_of, new_deployment, track_all
from trapline.domain.ecology.tracking import MAX_BOXES

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]

#: Boxes on each photo, and the most MB tracking them may add to the process's peak.
BOXES = 20_000
MAX_RISE_MB = 200.0
#: Boxes a bulk request may carry.
PER_REQUEST = 5_000
WIDTH, HEIGHT = 1600, 1200


def _boxes(seed: int, shift: float) -> list[dict[str, object]]:
    """``BOXES`` insects of 8-40 px scattered over the photo (the same ones for a seed),
    moved ``shift`` pixels."""
    rng = random.Random(seed)
    found = []
    for n in range(BOXES):
        size = rng.uniform(8, 40)
        x, y = rng.uniform(0, WIDTH - size - 2), rng.uniform(0, HEIGHT - size - 2)
        data = {"x_min": x + shift, "y_min": y + shift, "x_max": x + size + shift,
                "y_max": y + size + shift, "image_width": WIDTH,
                "image_height": HEIGHT}  # fmt: skip
        found.append({"annotation_type": "bounding_box", "class_name": "moth",
                      "confidence": round(0.99 - n / 1e6, 6), "data": data})  # fmt: skip
    return found


def _store(proto: Protocol, pipeline: Pipeline, image: int, version: str, shift: float) -> None:
    made = create_analysis(proto.client, proto.account, image, model_version=version)
    assert made.status_code == 201, made.text
    analysis = made.json()["id"]
    boxes = _boxes(image, shift)
    for start in range(0, BOXES, PER_REQUEST):
        body = {"annotations": boxes[start : start + PER_REQUEST]}
        posted = pipeline.call("POST", f"/analyses/{analysis}/annotations:bulk", body)
        assert posted.status_code == 200, posted.text[:300]
    done = pipeline.call("POST", f"/analyses/{analysis}/finalize", {"status": "completed"})
    assert done.status_code == 200, done.text


def test_two_photos_of_20000_boxes_are_tracked_in_bounded_memory(
    proto: Protocol, pipeline: Pipeline
) -> None:
    sheet = new_deployment(proto, "Sheet")
    photos = add_frames(proto, sheet, 2, timedelta(seconds=30), size=(WIDTH, HEIGHT))
    for image in photos:
        _store(proto, pipeline, image, "1.0.0", 0.0)
    with peak_rise(os.getpid()) as rise:
        assert track_all(proto) == 1
    assert rise[0] <= MAX_RISE_MB, f"tracking rose {rise[0]:.0f} MB"
    event = event_of(proto, sheet)
    listed = api_get(proto, f"/events/{event}/occurrences", limit=1)
    assert listed["untracked_boxes"] == 2 * (BOXES - MAX_BOXES)
    first = listed["results"][0]["id"]

    # A new version of the pipeline boxes the same insects a pixel off.
    for image in photos:
        _store(proto, pipeline, image, "2.0.0", 1.0)
    with peak_rise(os.getpid()) as rise:
        assert track_all(proto) == 1
    assert rise[0] <= MAX_RISE_MB, f"tracking again rose {rise[0]:.0f} MB"
    again = api_get(proto, f"/events/{event}/occurrences", limit=1)
    assert again["untracked_boxes"] == 2 * (BOXES - MAX_BOXES)
    assert again["results"][0]["id"] == first  # the first insect kept its occurrence
