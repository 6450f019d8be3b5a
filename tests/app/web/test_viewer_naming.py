"""The photo viewer names a box as every count names it (issue 59, item 5): a classifier's
species over the detector's category, and a box a stage rejected as no object, drawn apart."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from tests.support.accounts import Account
from tests.support.moth_filter import filtered_photo
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    add_frames,
    event_of,
    import_md,
    new_deployment,
    occurrences_of,
    track_all,
)
from tests.support.web import Browser


def test_the_viewer_names_boxes_as_counting_does(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    image = filtered_photo(proto)
    page = sign_in(proto.account).page(f"/images/{image}")
    # The moth: the species stage's beetle (0.70), not the detector's insect or the filter's moth.
    assert ">beetle 0.70</text>" in page or "<title>beetle 0.70</title>" in page
    # The leaf the filter rejected: no object, drawn apart, whatever the detector scored.
    assert 'class="det rejected"' in page
    assert "no object (counted nowhere)" in page
    assert "insect 0.95" not in page.split('id="r-label"')[0]


def test_the_viewer_captions_a_classified_heron_by_its_species(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    pond = new_deployment(proto, "Pond")
    add_frames(proto, pond, 10, timedelta(seconds=1), size=(640, 480))
    boxes = {
        f"Pond/frame-{i:02d}.jpg": [{"category": "1", "conf": 0.9,
                                     "bbox": [0.2 + i * 0.01, 0.3, 0.2, 0.3],
                                     "classifications": [["1", 0.81]]}]
        for i in range(10)
    }  # fmt: skip
    import_md(proto, boxes, classes={"1": "Ardea cinerea"})
    track_all(proto)
    event = event_of(proto, pond)
    (bird,) = [o for o in occurrences_of(proto, event) if o["detection_count"] == 10]
    assert bird["determination"]["label"] == "Ardea cinerea"
    image = proto.client.get(
        f"/api/v2/projects/{proto.project_id}/images", params={"limit": 1}, headers=proto.headers
    ).json()["results"][0]["id"]
    page = sign_in(proto.account).page(f"/images/{image}")
    assert "Ardea cinerea 0.81" in page
    assert "animal 0.90" not in page
    slug = bird["pipeline"]
    assert f'<span class="muted">{slug} v1</span>' in page  # the version of each result
