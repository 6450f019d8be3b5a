"""Groups of unknown individuals through the API (issue "Unknown animals grouped"): the
unidentified individuals of the refit scene grouped by their vectors (the herons together,
the egrets together, the lone little egret ungrouped), a group named at once as a taxon (each
individual a person's identification), the scope (a deployment, nights), bad inputs refused
saying what is wrong (400), another project's grouping answered as a missing one, and a
grouping whose server died taken over by the duty.

The scene: ``tests/support/refit_scene.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from tests.support.accounts import Account
from tests.support.protocol import PIPELINE_SLUG
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.refit_scene import identify_nights, night_scene
from tests.support.refusals import answered_as_missing, refused
from tests.support.scenes import API, find_taxon, new_deployment
from tests.support.unknown_groups import EGRETS, HERONS, ask_grouping, grouped, taxa_of_groups
from trapline.background.groupings import STALE_AFTER
from trapline.db.repositories.review.groupings import Scope


def test_unknown_individuals_are_grouped_by_their_features(proto: Protocol) -> None:
    detections = night_scene(proto)

    made = ask_grouping(proto, name="Sheet moths")

    assert made.status_code == 202, made.text
    assert made.json()["status"] == "queued"
    found = grouped(proto, made.json()["id"])
    assert (found["status"], found["error"], found["name"]) == ("done", None, "Sheet moths")
    assert (found["features_from"], found["features_version"], found["features_length"]) == (
        PIPELINE_SLUG, 1, 4,
    )  # fmt: skip
    assert (found["individuals"], found["ungrouped"], found["progress"]) == (9, 1, 1.0)
    assert found["dimensions"] == 4
    assert sorted(taxa_of_groups(found, detections)) == [EGRETS, HERONS]
    assert [m["best_annotation_id"] for m in found["ungrouped_sample"]] == [detections[8]]
    assert [g["size"] for g in found["groups"]] == [4, 4]
    assert [g["unidentified"] for g in found["groups"]] == [4, 4]
    tightness = [g["tightness"] for g in found["groups"]]
    assert tightness == sorted(tightness, reverse=True)
    assert all(0.7 < t <= 1 for t in tightness), tightness
    assert 0.3 < found["silhouette"] <= 1
    listed = api_get(proto, f"/projects/{proto.project_id}/groupings")
    assert [(g["name"], g["status"]) for g in listed["results"]] == [("Sheet moths", "done")]


def test_naming_a_group_identifies_each_of_its_individuals(proto: Protocol) -> None:
    detections = night_scene(proto)
    identify_nights(proto, detections, range(1))  # the first heron is known already
    grouping = ask_grouping(proto).json()["id"]
    found = grouped(proto, grouping)
    assert found["individuals"] == 8
    assert found["name"] == f"Unknown individuals by {PIPELINE_SLUG}, all deployments, all nights"
    (herons,) = [
        g for g, taxa in zip(found["groups"], taxa_of_groups(found, detections), strict=True)
        if taxa == HERONS[:3]
    ]  # fmt: skip
    heron = find_taxon(proto, "Ardea cinerea")
    path = f"/groupings/{grouping}/groups/{herons['number']}/identify"

    named = api_post(proto, path, {"taxon_id": heron, "comment": "by the group"}, 201)

    assert named == {
        "grouping_id": grouping, "group": herons["number"], "taxon_id": heron, "identified": 3,
    }  # fmt: skip
    for member in herons["sample"]:
        occurrence = api_get(proto, f"/occurrences/{member['occurrence_id']}")
        assert occurrence["determination"]["by"] == "person"
        assert occurrence["determination"]["label"] == "Ardea cinerea"
        history = api_get(proto, f"/occurrences/{member['occurrence_id']}/identifications")
        assert [(i["taxon"]["id"], i["comment"]) for i in history] == [(heron, "by the group")]
    again = api_get(proto, f"/groupings/{grouping}")
    left = {g["number"]: g["unidentified"] for g in again["groups"]}
    assert left[herons["number"]] == 0
    refused(
        proto.client.post(f"{API}{path}", json={"taxon_id": heron}, headers=proto.headers),
        400, "identified or rejected already",
    )  # fmt: skip
    # Named, the herons are no longer unknown: a new grouping leaves them out.
    assert grouped(proto, ask_grouping(proto).json()["id"])["individuals"] == 5


def test_the_scope_is_a_deployment_or_a_range_of_nights(proto: Protocol) -> None:
    night_scene(proto)
    sheet = api_get(proto, f"/projects/{proto.project_id}/deployments")["results"][0]["id"]
    by_nights = ask_grouping(proto, since="2024-03-02", until="2024-03-06")
    assert grouped(proto, by_nights.json()["id"])["individuals"] == 5
    in_sheet = ask_grouping(proto, deployment_id=sheet, until="2024-03-09")
    found = grouped(proto, in_sheet.json()["id"])
    assert (found["individuals"], found["deployment_id"], found["until"]) == (
        9, sheet, "2024-03-09",
    )  # fmt: skip
    empty = new_deployment(proto, "Empty", "UTC")
    refused(
        ask_grouping(proto, deployment_id=empty), 400,
        "grouping needs at least 3 unidentified individuals", f"deployment {empty} has 0",
    )  # fmt: skip


def test_bad_inputs_are_refused_saying_what(proto: Protocol) -> None:
    detections = night_scene(proto)
    refused(
        ask_grouping(proto, "nothing"), 400,
        "features_from: 'nothing' is not a pipeline of project", PIPELINE_SLUG,
    )  # fmt: skip
    refused(ask_grouping(proto, f"{PIPELINE_SLUG}@7"), 400, "has no version 7")
    refused(
        ask_grouping(proto, since="2024-03-05", until="2024-03-02"), 400,
        "until: 2024-03-02 is before since (2024-03-05)",
    )  # fmt: skip
    refused(
        ask_grouping(proto, deployment_id=10**12), 400,
        f"deployment_id: {10**12} is not a deployment of project {proto.project_id}",
    )  # fmt: skip
    identify_nights(proto, detections, range(7))
    refused(
        ask_grouping(proto), 400,
        "grouping needs at least 3 unidentified individuals",
        "the project has 2 unidentified individuals, 2 of them with such vectors",
    )  # fmt: skip
    with proto.platform.db.read() as repos:
        assert repos.review.groupings.of_project(proto.project_id, 10) == []


def test_vectors_of_two_lengths_are_refused_naming_them(proto: Protocol) -> None:
    night_scene(proto, odd_length=True)
    refused(
        ask_grouping(proto), 400, "not all of one length",
        "version 1: 4 numbers (8 detections), version 1: 5 numbers (1 detections)",
    )  # fmt: skip


def test_naming_is_refused_until_done_and_for_no_such_group(proto: Protocol) -> None:
    night_scene(proto)
    heron = find_taxon(proto, "Ardea cinerea")
    with proto.platform.db.write() as repos:
        queued = repos.review.groupings.create(
            proto.project_id, "Waiting", PIPELINE_SLUG, Scope(), proto.account.id,
            proto.platform.clock.now(),
        )  # fmt: skip
    body = {"taxon_id": heron}
    refused(
        proto.client.post(
            f"{API}/groupings/{queued}/groups/1/identify", json=body, headers=proto.headers
        ),
        400, f"grouping {queued} is queued: name a group once it is done",
    )  # fmt: skip
    done = ask_grouping(proto).json()["id"]
    grouped(proto, done)
    refused(
        proto.client.post(
            f"{API}/groupings/{done}/groups/9/identify", json=body, headers=proto.headers
        ),
        400, f"group: grouping {done} has groups 1 to 2 (got 9)",
    )  # fmt: skip


def test_a_foreign_grouping_answers_as_a_missing_one_and_viewers_may_not_group(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    night_scene(proto)
    grouping = ask_grouping(proto).json()["id"]
    grouped(proto, grouping)
    stranger = proto.as_(make_account("eve"))
    foreign = stranger.client.get(f"{API}/groupings/{grouping}", headers=stranger.headers)
    missing = stranger.client.get(f"{API}/groupings/{10**12}", headers=stranger.headers)
    assert foreign.status_code == 404, foreign.text
    assert answered_as_missing(foreign, missing, grouping, 10**12)
    path = f"{API}/projects/{proto.project_id}/groupings"
    assert stranger.client.get(path, headers=stranger.headers).status_code == 404
    assert ask_grouping(stranger).status_code == 404
    heron = {"taxon_id": find_taxon(proto, "Ardea cinerea")}
    name = f"{API}/groupings/{grouping}/groups/1/identify"
    assert stranger.client.post(name, json=heron, headers=stranger.headers).status_code == 404
    viewer = make_account("vic")
    proto.add_member(viewer, "viewer")
    watcher = proto.as_(viewer)
    assert api_get(watcher, f"/groupings/{grouping}")["status"] == "done"
    refused(ask_grouping(watcher), 403, "needs the member role")
    refused(watcher.client.post(name, json=heron, headers=watcher.headers), 403, "member role")


@pytest.mark.parametrize("left", ["queued", "running under a dead server"])
def test_a_grouping_left_by_a_server_that_stopped_is_done_by_the_duty(
    proto: Protocol, left: str
) -> None:
    night_scene(proto)
    platform = proto.platform
    now = platform.clock.now()
    with platform.db.write() as repos:
        made = repos.review.groupings.create(
            proto.project_id, "Left", PIPELINE_SLUG, Scope(), proto.account.id, now
        )
        if left != "queued":
            then = now - 2 * STALE_AFTER
            assert repos.review.groupings.claim(made, "dead-server", then, then)
            assert repos.review.groupings.progressed(made, "dead-server", "reducing", 0.3)
    assert api_get(proto, f"/groupings/{made}")["status"] == (
        "queued" if left == "queued" else "running"
    )

    platform.groupings.resume()

    found = grouped(proto, made)
    assert (found["status"], found["individuals"], found["stage"]) == ("done", 9, None)
    with platform.db.read() as repos:
        assert not repos.review.groupings.progressed(made, "dead-server", "too late", 0.9)


def test_a_running_grouping_says_its_stage_and_only_its_runner_may(proto: Protocol) -> None:
    night_scene(proto)
    now = proto.platform.clock.now()
    with proto.platform.db.write() as repos:
        made = repos.review.groupings.create(
            proto.project_id, "Followed", PIPELINE_SLUG, Scope(), proto.account.id, now
        )
        assert repos.review.groupings.claim(made, "here", now, now - timedelta(seconds=1))
        assert repos.review.groupings.progressed(
            made, "here", "reducing the vectors: 10 of 20", 0.4
        )
        assert not repos.review.groupings.progressed(made, "elsewhere", "not mine", 0.9)
    found = api_get(proto, f"/groupings/{made}")
    assert (found["status"], found["stage"], found["progress"]) == (
        "running", "reducing the vectors: 10 of 20", 0.4,
    )  # fmt: skip
    assert found["groups"] == []


def test_a_grouping_whose_individuals_were_identified_meanwhile_fails_saying_why(
    proto: Protocol,
) -> None:
    """What was checked when the grouping was asked for may change before a server runs it:
    the run then fails with the reason, shown on its page and in the API."""
    detections = night_scene(proto)
    platform = proto.platform
    with platform.db.write() as repos:
        made = repos.review.groupings.create(
            proto.project_id, "Too late", PIPELINE_SLUG, Scope(), proto.account.id,
            platform.clock.now(),
        )  # fmt: skip
    identify_nights(proto, detections, range(8))

    platform.groupings.resume()

    found = grouped(proto, made)
    assert found["status"] == "failed"
    assert "grouping needs at least 3 unidentified individuals" in found["error"]
    assert found["groups"] == []
