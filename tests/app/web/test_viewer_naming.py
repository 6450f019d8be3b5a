"""The photo viewer names a box as every count names it (issue 59, item 5): a classifier's
species over the detector's category, and a box a stage rejected as no object, drawn apart."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta

from tests.support.accounts import Account
from tests.support.moth_filter import filtered_photo
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    TAXA_CSV,
    add_frames,
    event_of,
    find_taxon,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    six_occurrences,
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


def test_the_viewer_captions_a_box_by_what_people_said_of_its_individual(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    """A box of an individual a person identified reads as that taxon, by that person, not as
    the model's label and score; one a person rejected reads as the rejection."""
    found = six_occurrences(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    named, junk = found[0]["id"], found[1]["id"]
    heron = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/occurrences/{named}/identifications", {"taxon_id": heron}, 201)
    api_post(proto, f"/occurrences/{junk}/identifications", {"rejected": "nothing_there"}, 201)
    (sighting,) = api_get(proto, f"/occurrences/{named}")["detections"]
    page = sign_in(proto.account).page(f"/images/{sighting['image_id']}")
    captions = dict(re.findall(r'<li id="a(\d+)"[^>]*data-caption="([^"]*)"', page))
    assert captions[str(sighting["annotation_id"])].startswith("Ardea cinerea (identified by ")
    (speck,) = api_get(proto, f"/occurrences/{junk}")["detections"]
    assert captions[str(speck["annotation_id"])].startswith("nothing there (rejected by ")
    others = [c for a, c in captions.items() if int(a) not in
              (sighting["annotation_id"], speck["annotation_id"])]  # fmt: skip
    assert len(others) == 4
    assert all("identified by" not in c and "rejected by" not in c for c in others)
