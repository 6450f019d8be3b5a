"""Events in the API: a deployment's events, an event's photos in time order, an image's
event, the rules (with their 400s) and the regroupings a rule change starts, and events kept
current as photos are uploaded, deleted, moved and their times re-read."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from trapline.platform import Platform

API = "/api/v2"
T0 = datetime(2024, 6, 21, 22, 0, 0)


def _deployment(client: AppClient, owner: Account, project_id: int, **body: Any) -> int:
    made = client.post(
        f"{API}/projects/{project_id}/deployments",
        json={"name": "Trap", **body},
        headers=owner.headers,
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _photos(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    deployment: int,
    *times: datetime,
) -> list[int]:
    """Upload one photo per time (one request each, as a camera's files trickle in)."""
    ids = []
    for moment in times:
        seed = int(moment.timestamp()) % 100_000
        body = upload(
            client,
            owner,
            project_id,
            (f"p{seed}.jpg", jpeg(seed, captured_at=moment, width=32, height=24)),
            deployment_id=str(deployment),
        )
        assert body["status"] == 201, body
        ids.append(int(body["results"][0]["id"]))
    return ids


def _events(client: AppClient, owner: Account, deployment: int) -> list[list[int]]:
    """The deployment's events, each as its photos' ids in time order."""
    listed = client.get(f"{API}/deployments/{deployment}/events", headers=owner.headers)
    assert listed.status_code == 200, listed.text
    out = []
    for event in listed.json()["results"]:
        shown = client.get(f"{API}/events/{event['id']}", headers=owner.headers).json()
        assert shown["image_count"] == len(shown["images"])
        out.append([i["id"] for i in shown["images"]])
    return out


def test_events_of_a_deployment_and_their_photos_in_time_order(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> None:
    trap = _deployment(client, owner, project_id, time_zone="Africa/Dar_es_Salaam")
    late, early, apart = _photos(
        client,
        owner,
        project_id,
        jpeg,
        trap,
        T0 + timedelta(seconds=30),
        T0,
        T0 + timedelta(hours=1),
    )
    listed = client.get(f"{API}/deployments/{trap}/events", headers=owner.headers).json()
    assert listed["count"] == 2
    first = listed["results"][0]
    assert (first["start"], first["end"]) == (
        "2024-06-21T22:00:00+03:00",
        "2024-06-21T22:00:30+03:00",
    )
    assert (first["image_count"], first["first_image_id"]) == (2, early)
    shown = client.get(f"{API}/events/{first['id']}", headers=owner.headers).json()
    assert [i["id"] for i in shown["images"]] == [early, late]
    image = client.get(f"{API}/images/{late}", headers=owner.headers).json()
    assert image["event_id"] == first["id"]
    assert (
        client.get(f"{API}/images/{apart}", headers=owner.headers).json()["event_id"]
        == (listed["results"][1]["id"])
    )


def test_events_follow_deletes_and_moves(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> None:
    trap = _deployment(client, owner, project_id)
    other = _deployment(client, owner, project_id)
    a, b, c = _photos(
        client,
        owner,
        project_id,
        jpeg,
        trap,
        T0,
        T0 + timedelta(seconds=50),
        T0 + timedelta(seconds=100),
    )
    assert _events(client, owner, trap) == [[a, b, c]]
    # The middle photo goes: a gap of 100 s splits the sequence.
    gone = client.delete(f"{API}/images/{b}", headers=owner.headers)
    assert gone.status_code == 204, gone.text
    assert _events(client, owner, trap) == [[a], [c]]
    moved = client.post(
        f"{API}/projects/{project_id}/images/move",
        json={"image_ids": [c], "deployment_id": other},
        headers=owner.headers,
    )
    assert moved.status_code == 200, moved.text
    assert _events(client, owner, trap) == [[a]]
    assert _events(client, owner, other) == [[c]]
    out = client.post(
        f"{API}/projects/{project_id}/images/move",
        json={"image_ids": [c], "deployment_id": None},
        headers=owner.headers,
    )
    assert out.status_code == 200, out.text
    assert _events(client, owner, other) == []
    assert client.get(f"{API}/images/{c}", headers=owner.headers).json()["event_id"] is None


def test_a_rule_change_regroups_in_the_background_with_progress(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    platform: Platform,
) -> None:
    trap = _deployment(client, owner, project_id)
    evening = datetime(2024, 6, 21, 20, 0)
    ids = _photos(client, owner, project_id, jpeg, trap, evening, evening + timedelta(hours=8))
    assert _events(client, owner, trap) == [[ids[0]], [ids[1]]]
    set_rule = client.put(
        f"{API}/projects/{project_id}/event-rule", json={"rule": "night"}, headers=owner.headers
    )
    assert set_rule.status_code == 200, set_rule.text
    regrouping = set_rule.json()["regrouping"]
    assert platform.regroupings.wait_idle(30)
    done = client.get(f"{API}/event-regroupings/{regrouping['id']}", headers=owner.headers).json()
    assert done["status"] == "succeeded", done
    assert (done["deployments_done"], done["deployments_total"]) == (1, 1)
    assert _events(client, owner, trap) == [ids]
    # The deployment's own rule wins over the project's.
    own = client.put(
        f"{API}/deployments/{trap}/event-rule",
        json={"rule": "sequence", "gap_seconds": 3600},
        headers=owner.headers,
    )
    assert own.status_code == 200, own.text
    assert platform.regroupings.wait_idle(30)
    assert _events(client, owner, trap) == [[ids[0]], [ids[1]]]


def test_re_read_capture_times_regroup_sequences(
    client: AppClient,
    owner: Account,
    project_id: int,
    jpeg: Callable[..., bytes],
    platform: Platform,
) -> None:
    """01:59:30 and 03:00:10 on the night London's clocks go forward are 40 s apart."""
    trap = _deployment(client, owner, project_id)
    ids = _photos(
        client, owner, project_id, jpeg, trap, datetime(2024, 3, 31, 0, 59, 30),
        datetime(2024, 3, 31, 2, 0, 10),
    )  # fmt: skip
    assert _events(client, owner, trap) == [[ids[0]], [ids[1]]]
    patched = client.patch(
        f"{API}/deployments/{trap}", json={"time_zone": "Europe/London"}, headers=owner.headers
    )
    assert patched.status_code == 200, patched.text
    assert platform.rereads.wait_idle(30)
    platform.regroupings.resume()  # what the "events" duty does every few seconds
    assert platform.regroupings.wait_idle(30)
    assert _events(client, owner, trap) == [ids]


def test_bad_rules_are_refused_naming_the_field(
    client: AppClient, owner: Account, project_id: int
) -> None:
    trap = _deployment(client, owner, project_id)
    for path in (f"/projects/{project_id}/event-rule", f"/deployments/{trap}/event-rule"):
        for body, field in (
            ({"rule": "weekly"}, "rule"),
            ({"rule": "sequence", "gap_seconds": 0}, "gap_seconds"),
            ({"rule": "sequence", "gap_seconds": -5}, "gap_seconds"),
            ({"rule": "sequence", "gap_seconds": 7 * 24 * 3600 + 1}, "gap_seconds"),
            ({"rule": "sequence", "gap_seconds": "60"}, "gap_seconds"),
        ):
            answer = client.put(API + path, json=body, headers=owner.headers)
            assert answer.status_code == 400, (path, body, answer.text)
            assert field in answer.json()["detail"], answer.text
    missing = client.get(f"{API}/events/{10**9}", headers=owner.headers)
    assert missing.status_code == 404
