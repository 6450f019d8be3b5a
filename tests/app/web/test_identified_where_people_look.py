"""What people identified shows where people look: the review queue skips the boxes of
occurrences people already identified or rejected (a person's word on the individual settles
its boxes; the project's queue and a job's), and a grid tile counts the identified individuals
on its photo. (The viewer's captions: ``test_viewer_naming.py``.)"""

from __future__ import annotations

from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    TAXA_CSV,
    find_taxon,
    import_taxa,
    new_deployment,
    six_occurrences,
    track_all,
)
from tests.support.web import Browser
from trapline.services.review.reviews import review_queue


def _queued(proto: Protocol, job_id: int | None = None) -> set[int]:
    with proto.platform.db.read() as repos:
        me = repos.core.users.get(proto.account.id)
    assert me is not None
    page = review_queue(proto.platform.db, me, proto.project_id, job_id=job_id, limit=100)
    return {item.annotation_id for item in page.items}


def _boxes(proto: Protocol, occurrence_id: int) -> set[int]:
    found = api_get(proto, f"/occurrences/{occurrence_id}")
    return {d["annotation_id"] for d in found["detections"]}


def test_the_queue_skips_boxes_of_identified_and_rejected_occurrences(proto: Protocol) -> None:
    found = six_occurrences(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    boxes = {o["id"]: _boxes(proto, o["id"]) for o in found}
    everything = set().union(*boxes.values())
    assert _queued(proto) == everything
    named, junk, kept = found[0]["id"], found[1]["id"], found[2]["id"]
    heron = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/occurrences/{named}/identifications", {"taxon_id": heron}, 201)
    api_post(proto, f"/occurrences/{junk}/identifications", {"rejected": "nothing_there"}, 201)
    assert _queued(proto) == everything - boxes[named] - boxes[junk]
    assert boxes[kept] <= _queued(proto)


def test_a_jobs_queue_skips_them_too(proto: Protocol) -> None:
    trap = new_deployment(proto, "Trap")
    proto.images(1, names=["20240621-220000.jpg"], deployment_id=str(trap))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    (task,) = proto.claim(job["id"], 10)
    left = detection(task, bbox=(5, 5, 40, 40))
    right = detection(task, bbox=(110, 60, 150, 110))
    assert [a["status"] for a in proto.post(job["id"], success(task, left, right))] == ["saved"]
    assert track_all(proto) == 1
    queued = _queued(proto, job["id"])
    assert len(queued) == 2
    (event,) = api_get(proto, f"/deployments/{trap}/events")["results"]
    first = api_get(proto, f"/events/{event['id']}/occurrences")["results"][0]["id"]
    api_post(proto, f"/occurrences/{first}/identifications", {"rejected": "not_an_insect"}, 201)
    assert _queued(proto, job["id"]) == queued - _boxes(proto, first)


def test_a_grid_tile_counts_the_identified_individuals(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    found = six_occurrences(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    grid = f"/projects/{proto.project_id}/images"
    browser = sign_in(proto.account)
    assert "data-identified=" not in browser.page(grid)
    heron = find_taxon(proto, "Ardea cinerea")
    for occurrence in found[:2]:
        api_post(
            proto, f"/occurrences/{occurrence['id']}/identifications", {"taxon_id": heron}, 201
        )
    api_post(
        proto, f"/occurrences/{found[2]['id']}/identifications", {"rejected": "nothing_there"}, 201
    )
    tile = browser.page(grid)
    assert '<span class="identified" data-identified="2">2 identified</span>' in tile
