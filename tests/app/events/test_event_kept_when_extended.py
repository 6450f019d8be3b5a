"""An event that only gains photos (before its first or after its last) keeps its id,
whichever way they are placed: an upload of several frames that extends a sequence (its first
frame's neighbour is a frame of the same upload, not yet in an event: the deployment is grouped
whole), and a batch past ``WHOLE_AFTER`` (grouped whole by design). Its occurrences keep their
ids, and a person's identification its taxon; an event that lost a photo is grouped anew."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support.accounts import Account, upload
from tests.support.grouping import add_photos, grouping_project, groups_of
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    T0,
    TAXA_CSV,
    event_of,
    find_taxon,
    heron,
    import_md,
    import_taxa,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.db.engine import Database
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.imaging.synthetic import light_trap_jpeg
from trapline.services.ecology import events

#: The heron scene's frames (a second apart), and the frames the upload adds after them.
SCENE = 10
ADDED = 3


def _named_heron(proto: Protocol) -> tuple[int, int, list[tuple[int, int, str | None]]]:
    """The heron scene, its heron identified as a Grey Heron: the deployment, its one event,
    and the event's occurrences (the heron's, then the person's)."""
    pond, event = heron(proto)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    bird = next(o for o in occurrences_of(proto, event) if o["detection_count"] == SCENE)
    api_post(
        proto,
        f"/occurrences/{bird['id']}/identifications",
        {"taxon_id": find_taxon(proto, "Ardea cinerea")},
        201,
    )
    track_all(proto)
    return pond, event, _occurrences(proto, event)


def _occurrences(proto: Protocol, event: int) -> list[tuple[int, int, str | None]]:
    """An event's occurrences in order of their ids: (id, detections, determination)."""
    return sorted(
        (o["id"], o["detection_count"], o["determination"]["label"])
        for o in occurrences_of(proto, event)
    )


def _more_frames(proto: Protocol, pond: int) -> None:
    """Frames 10 to 12, a second apart after the scene's, uploaded in one request, with the
    heron walking on in them (MegaDetector output), tracked."""
    frames = [
        (
            f"frame-{i:02d}.jpg",
            light_trap_jpeg(
                7, width=640, height=480, captured_at=T0 + timedelta(seconds=i), quality=80 + i
            ),
        )
        for i in range(SCENE, SCENE + ADDED)
    ]
    sent = upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))
    assert sent["status"] == 201, sent
    import_md(
        proto,
        {
            f"Pond/frame-{i:02d}.jpg": [
                {"category": "1", "conf": 0.8, "bbox": [0.2 + i * 0.01, 0.3, 0.2, 0.3]}
            ]
            for i in range(SCENE, SCENE + ADDED)
        },
    )
    track_all(proto)


@pytest.mark.parametrize("whole_after", [None, 2], ids=["an-upload", "past-whole-after"])
def test_an_event_that_only_gains_photos_keeps_its_id_and_occurrences(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch, whole_after: int | None
) -> None:
    """Three more frames of the heron's sequence arrive in one upload: the sequence keeps its
    id and holds all thirteen; the heron keeps its id and its name, with three more
    detections, and the person theirs."""
    pond, event, before = _named_heron(proto)
    bird, person = before
    assert (bird[1:], person[1:]) == ((SCENE, "Ardea cinerea"), (1, "person"))
    if whole_after is not None:
        monkeypatch.setattr(events, "WHOLE_AFTER", whole_after)

    _more_frames(proto, pond)

    assert event_of(proto, pond) == event
    assert api_get(proto, f"/events/{event}")["image_count"] == SCENE + ADDED
    assert _occurrences(proto, event) == [(bird[0], SCENE + ADDED, "Ardea cinerea"), person]


def test_a_batch_before_and_after_a_nights_photos_keeps_the_night(
    app_db: Database, owner: Account, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A night's two photos came one by one; the rest of the night comes in one batch past
    ``WHOLE_AFTER``, before them and after them: the night keeps its id and holds them all,
    with the batch's first photo as its first and their times as its span."""
    project_id, deployment_id = grouping_project(app_db, owner, Grouping(EventRule.NIGHT))
    first = add_photos(app_db, project_id, deployment_id, T0, T0 + timedelta(seconds=10))
    with app_db.read() as repos:
        _, (night,) = repos.ecology.events.page(deployment_id, limit=10, offset=0)
    monkeypatch.setattr(events, "WHOLE_AFTER", 2)
    earlier, *later = [T0 - timedelta(hours=1), *(T0 + timedelta(minutes=m) for m in (1, 2, 3))]
    added = add_photos(app_db, project_id, deployment_id, earlier, *later, at_once=True)

    assert groups_of(app_db, deployment_id) == [[added[0], *first, *added[1:]]]
    with app_db.read() as repos:
        _, (kept,) = repos.ecology.events.page(deployment_id, limit=10, offset=0)
    assert kept.id == night.id
    assert (kept.starts_at, kept.ends_at) == (earlier, later[-1])


def test_an_event_that_lost_a_photo_is_grouped_anew(proto: Protocol) -> None:
    """A frame of the sequence deleted: the sequence holds other photos than it did and gets
    a new id (published ids follow the photos an event holds); its heron keeps its id, and
    its name."""
    pond, event, before = _named_heron(proto)
    photos = api_get(proto, f"/events/{event}")["images"]
    gone = proto.client.delete(f"/api/v2/images/{photos[-1]['id']}", headers=proto.headers)
    assert gone.status_code == 204, gone.text
    track_all(proto)

    regrouped = event_of(proto, pond)
    assert regrouped != event
    bird = before[0]
    assert (bird[0], SCENE - 1, "Ardea cinerea") in _occurrences(proto, regrouped)


def test_a_photo_moved_out_and_back_in_a_batch_keeps_every_id(
    proto: Protocol, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The person's frame moved to another deployment and back, each move grouping the
    deployment it goes to whole (past ``WHOLE_AFTER``): the sequence it left is grouped anew,
    and keeps that new id when the frame comes back (it only gains it); every occurrence has
    the id it had, the person's too (it went with its frame, and came back with it)."""
    pond, _, before = _named_heron(proto)
    monkeypatch.setattr(events, "WHOLE_AFTER", 0)
    sheet = new_deployment(proto, "Sheet")
    frame = api_get(proto, f"/events/{event_of(proto, pond)}")["images"][4]["id"]

    def move(target: int) -> None:
        body = {"image_ids": [frame], "deployment_id": target}
        assert api_post(proto, f"/projects/{proto.project_id}/images/move", body) == {"moved": 1}
        track_all(proto)

    move(sheet)
    left = event_of(proto, pond)
    assert before[1] in _occurrences(proto, event_of(proto, sheet))
    move(pond)
    assert event_of(proto, pond) == left
    assert _occurrences(proto, left) == before
