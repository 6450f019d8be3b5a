"""Ids others rely on stay while the photos stay: a zone correction (and the re-reading of
capture times it starts) keeps every event and occurrence id, with people's identifications;
a photo moved out of its deployment and back keeps the occurrence ids it had."""

from __future__ import annotations

from datetime import timedelta

from tests.support.accounts import upload
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import API, DAR, T0, import_md, occurrences_of, track_all
from trapline.imaging.synthetic import light_trap_jpeg

#: Three bursts of four frames, two minutes apart (sequences of a minute: three events).
BURSTS = 3
FRAMES = 4


def _bursts(proto: Protocol) -> tuple[int, list[int]]:
    """A camera in Dar es Salaam grouping by sequences of a minute, three bursts of a heron
    walking right (and a person in one frame), imported and tracked: the deployment and its
    photos in time order."""
    answer = proto.client.put(
        f"{API}/projects/{proto.project_id}/event-rule",
        json={"rule": "sequence", "gap_seconds": 60},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    pond = api_post(
        proto,
        f"/projects/{proto.project_id}/deployments",
        {"name": "Pond", "time_zone": DAR, "latitude": -6.8, "longitude": 39.28},
        201,
    )["id"]
    times = [T0 + timedelta(seconds=120 * b + s) for b in range(BURSTS) for s in range(FRAMES)]
    frames = [
        (f"frame-{i:02d}.jpg", light_trap_jpeg(7, width=640, height=480, captured_at=at))
        for i, at in enumerate(times)
    ]
    body = upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))
    assert body["status"] == 201, body
    boxes = {
        f"Pond/frame-{i:02d}.jpg": [
            {"category": "1", "conf": 0.8, "bbox": [0.1 + (i % FRAMES) * 0.01, 0.1, 0.2, 0.3]}
        ]
        for i in range(len(times))
    }
    # A person far off, in one frame of the second burst only.
    boxes[f"Pond/frame-{FRAMES + 1:02d}.jpg"].append(
        {"category": "2", "conf": 0.7, "bbox": [0.8, 0.8, 0.1, 0.1]}
    )
    import_md(proto, boxes)
    assert proto.platform.regroupings.wait_idle(30)
    track_all(proto)
    photos = api_get(
        proto, f"/projects/{proto.project_id}/images/", ordering="captured_at", limit=100
    )["results"]
    return pond, [p["id"] for p in photos]


def _state(proto: Protocol, pond: int) -> dict[int, list[tuple[int, int, str | None]]]:
    """The deployment's events, each with its occurrences (id, detections, determination)."""
    found = api_get(proto, f"/deployments/{pond}/events")["results"]
    return {
        e["id"]: [
            (o["id"], o["detection_count"], o["determination"]["label"])
            for o in occurrences_of(proto, e["id"])
        ]
        for e in found
    }


def test_a_zone_correction_keeps_every_event_and_occurrence_id(proto: Protocol) -> None:
    """The camera's zone was wrong: correcting it re-reads the capture times (their offsets
    change, the photos do not) and regroups the deployment. Its three events keep their ids,
    their occurrences theirs, and a person's identification stays; the events' times are the
    new ones."""
    pond, _ = _bursts(proto)
    before = _state(proto, pond)
    assert [len(o) for o in before.values()] == [1, 2, 1]
    first_event = next(iter(before))
    heron = before[first_event][0][0]
    taxa = proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": ("t.csv", b"scientific_name,rank\nArdea cinerea,species\n", "text/csv")},
        headers=proto.headers,
    )
    assert taxa.status_code == 200, taxa.text
    (taxon,) = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="Ardea")
    api_post(proto, f"/occurrences/{heron}/identifications", {"taxon_id": taxon["id"]}, 201)
    track_all(proto)
    before = _state(proto, pond)

    patched = proto.client.patch(
        f"{API}/deployments/{pond}", json={"time_zone": "Europe/Paris"}, headers=proto.headers
    )
    assert patched.status_code == 200, patched.text
    assert proto.platform.rereads.wait_idle(30)
    proto.platform.regroupings.resume()  # what the "events" duty does every few seconds
    assert proto.platform.regroupings.wait_idle(30)
    track_all(proto)

    assert _state(proto, pond) == before
    assert before[first_event][0][2] == "Ardea cinerea"
    events = api_get(proto, f"/deployments/{pond}/events")["results"]
    print(events)
    assert all(e["start"].endswith("+01:00") for e in events), events


def test_a_photo_moved_out_and_back_keeps_the_occurrence_ids(proto: Protocol) -> None:
    """The photo of the second burst the person is in, put in another deployment by mistake
    and moved back: every occurrence has the id it had, the person's too (it went to the
    other deployment with its photo, and came back with it)."""
    pond, photos = _bursts(proto)
    before = _state(proto, pond)
    other = api_post(
        proto, f"/projects/{proto.project_id}/deployments", {"name": "Sheet", "time_zone": DAR}, 201
    )["id"]
    person = next(o for found in before.values() for o in found if o[2] == "person")

    def move(target: int) -> None:
        moved = api_post(
            proto,
            f"/projects/{proto.project_id}/images/move",
            {"image_ids": [photos[FRAMES + 1]], "deployment_id": target},
        )
        assert moved == {"moved": 1}
        track_all(proto)

    move(other)
    (there,) = _state(proto, other).values()
    assert person in there
    move(pond)
    after = _state(proto, pond)
    occurrences = lambda state: sorted(o for found in state.values() for o in found)  # noqa: E731
    assert occurrences(after) == occurrences(before)
