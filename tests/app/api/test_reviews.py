"""Reviews through the API: members review detections, the machine annotation stays."""

from __future__ import annotations

from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.refusals import answered_as_missing


def _detection_id(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> tuple[Protocol, int, int]:
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config()).status_code == 201
    (image,) = proto.images(1)
    job = proto.job_that_runs()
    (task,) = proto.claim(job["id"], 5)
    proto.post(job["id"], success(task, detection(task)))
    boxes = [
        a
        for analysis in proto.image(image)["analyses"]
        for a in analysis["annotations"]
        if a["type"] == "bounding_box"
    ]
    return proto, image, boxes[0]["id"]


def test_member_reviews_and_everyone_in_the_project_sees_it(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    make_account: Callable[..., Account],
) -> None:
    proto, image, box = _detection_id(client, owner, project_id, jpeg)
    before = proto.image(image)["analyses"]
    made = client.post(
        f"/api/v2/annotations/{box}/reviews",
        json={"verdict": "relabel", "label": "beetle"},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    assert made.json()["annotation_id"] == box
    assert proto.image(image)["analyses"] == before
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    listed = client.get(f"/api/v2/images/{image}/reviews", headers=viewer.headers).json()
    assert [(r["verdict"], r["label"], r["reviewer"]) for r in listed["results"]] == [
        ("relabel", "beetle", owner.email)
    ]
    refused = client.post(
        f"/api/v2/annotations/{box}/reviews", json={"verdict": "confirm"}, headers=viewer.headers
    )
    assert refused.status_code == 403


def test_foreign_annotation_is_404_and_relabel_needs_a_label(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    make_account: Callable[..., Account],
) -> None:
    _, image, box = _detection_id(client, owner, project_id, jpeg)
    stranger = make_account("sam")
    foreign = client.post(
        f"/api/v2/annotations/{box}/reviews", json={"verdict": "confirm"}, headers=stranger.headers
    )
    missing = client.post(
        "/api/v2/annotations/999999/reviews", json={"verdict": "confirm"}, headers=stranger.headers
    )
    assert foreign.status_code == missing.status_code == 404
    assert answered_as_missing(foreign, missing, box, 999999), (foreign.text, missing.text)
    assert (
        client.get(f"/api/v2/images/{image}/reviews", headers=stranger.headers).status_code == 404
    )
    unlabelled = client.post(
        f"/api/v2/annotations/{box}/reviews", json={"verdict": "relabel"}, headers=owner.headers
    )
    assert unlabelled.status_code == 400
    assert "label" in unlabelled.json()["detail"]
