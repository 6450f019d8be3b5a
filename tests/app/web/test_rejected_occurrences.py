"""Rejecting an occurrence whole ("not an animal", "nothing there"): a person's identification
that names no taxon. The occurrence keeps its id and page but counts nowhere (species view,
listing, queue, event tallies, exports); it stays rejected when its photos' results are
replaced; withdrawing the rejection counts it again; and a member of another project is
answered as for a missing occurrence."""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.support.accounts import Account
from tests.support.exports import Seeded
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    BOXES,
    TAXA_CSV,
    detail_of,
    import_md,
    import_taxa,
    six_occurrences,
    species_rows,
    track_all,
)
from tests.support.tallies import assert_counts_kept
from tests.support.web import Browser


@pytest.fixture(autouse=True)
def _kept_counts_agree(proto: Protocol) -> Iterator[None]:
    """Rejections and their undoing move occurrences out of the tallies and back: each event's
    tallies stay its counted occurrences counted afresh."""
    yield
    assert_counts_kept(proto.platform.db)


def _post(proto: Protocol, path: str, body: dict[str, Any], status: int) -> Any:
    answer = proto.client.post(f"{API}{path}", json=body, headers=proto.headers)
    assert answer.status_code == status, answer.text
    return answer.json()


def _listed(proto: Protocol) -> set[int]:
    found = proto.client.get(
        f"{API}/projects/{proto.project_id}/occurrences",
        params={"limit": 100},
        headers=proto.headers,
    )
    assert found.status_code == 200, found.text
    return {o["id"] for o in found.json()["results"]}


def _queued(proto: Protocol) -> set[int]:
    found = proto.client.get(
        f"{API}/projects/{proto.project_id}/identification-queue", headers=proto.headers
    )
    assert found.status_code == 200, found.text
    return {o["id"] for o in found.json()["results"]}


def _exported(proto: Protocol) -> int:
    """Rows of an occurrences CSV export of the project."""
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    done = seeded.export(format="occurrences-csv")
    assert done["status"] == "succeeded", done
    text = seeded.download(done["id"]).decode()
    return len(list(csv.DictReader(io.StringIO(text))))


@pytest.fixture
def scene(proto: Protocol) -> tuple[Protocol, list[int]]:
    found = [o["id"] for o in six_occurrences(proto)]
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    return proto, found


def test_rejected_occurrences_count_nowhere_and_withdrawing_counts_them_again(
    scene: tuple[Protocol, list[int]], sign_in: Callable[[Account], Browser]
) -> None:
    proto, ids = scene
    assert species_rows(proto) == [(None, 6, 6)]
    assert _exported(proto) == 6
    dust = ids[:2]
    made = _post(
        proto,
        f"/projects/{proto.project_id}/identifications",
        {"occurrence_ids": dust, "rejected": "nothing_there", "comment": "glare"},
        201,
    )
    assert [(i["taxon"], i["rejected"], i["comment"]) for i in made["identifications"]] == [
        (None, "nothing_there", "glare")
    ] * 2
    assert {
        (o["determination"]["label"], o["determination"]["by"], o["determination"]["rejected"])
        for o in made["occurrences"]
    } == {("nothing there", "person", "nothing_there")}
    # Out of every count; the occurrence itself and its history stay.
    assert species_rows(proto) == [(None, 4, 4)]
    assert _listed(proto) == set(ids[2:])
    assert _queued(proto) == set(ids[2:])
    assert _exported(proto) == 4
    kept = detail_of(proto, dust[0])
    assert kept["determination"]["rejected"] == "nothing_there"
    history = proto.client.get(
        f"{API}/occurrences/{dust[0]}/identifications", headers=proto.headers
    ).json()
    assert [(i["rejected"], i["taxon"], i["withdrawn"]) for i in history] == [
        ("nothing_there", None, False)
    ]
    # One at a time too, by its own id.
    one = _post(proto, f"/occurrences/{ids[2]}/identifications", {"rejected": "not_an_animal"}, 201)
    assert one["rejected"] == "not_an_animal"
    assert species_rows(proto) == [(None, 3, 3)]

    # The web app's undo withdraws the bulk rejection's identifications at once.
    olive = sign_in(proto.account)
    undo = olive.client.post(
        f"/projects/{proto.project_id}/identifications/withdraw",
        data={
            "csrf": olive.csrf(),
            "identification_ids": [str(i["id"]) for i in made["identifications"]],
            "back": f"/projects/{proto.project_id}/identify",
        },
        follow_redirects=False,
    )
    assert undo.status_code == 303, undo.text
    assert undo.headers["location"] == f"/projects/{proto.project_id}/identify?undone=2"
    assert species_rows(proto) == [(None, 5, 5)]
    assert _listed(proto) == set(ids) - {ids[2]}
    assert _exported(proto) == 5
    back = detail_of(proto, dust[0])["determination"]
    assert (back["rejected"], back["by"]) == (None, "model")
    history = proto.client.get(
        f"{API}/occurrences/{dust[0]}/identifications", headers=proto.headers
    ).json()
    assert [(i["rejected"], i["withdrawn"]) for i in history] == [("nothing_there", True)]


def test_a_rejection_stays_when_the_results_are_replaced(
    scene: tuple[Protocol, list[int]],
) -> None:
    proto, ids = scene
    _post(proto, f"/occurrences/{ids[0]}/identifications", {"rejected": "nothing_there"}, 201)
    assert species_rows(proto) == [(None, 5, 5)]
    box = detail_of(proto, ids[0])["best_detection_id"]
    # The same photo's results again, a little moved: new detections succeed the old ones.
    detections = [
        {"category": c, "conf": 0.6 + n / 20, "bbox": [b[0] + 0.005, b[1], b[2], b[3]]}
        for n, (b, c) in enumerate(BOXES)
    ]
    import_md(proto, {"Pond/frame-00.jpg": detections}, detector="md_v5b.0.0.pt")
    track_all(proto)
    rows = proto.client.get(
        f"{API}/projects/{proto.project_id}/species", headers=proto.headers
    ).json()["results"]
    assert [(r["occurrences"], r["detections"]) for r in rows] == [(5, 5)]
    rejected = [
        o
        for o in proto.client.get(
            f"{API}/events/{detail_of(proto, ids[1])['event_id']}/occurrences",
            headers=proto.headers,
        ).json()["results"]
        if o["determination"]["rejected"]
    ]
    assert [o["determination"]["label"] for o in rejected] == ["nothing there"]
    assert rejected[0]["best_detection_id"] != box  # the new results' detection


def test_bad_rejections_are_refused_and_outsiders_are_answered_as_for_a_missing_one(
    scene: tuple[Protocol, list[int]], make_account: Callable[..., Account]
) -> None:
    proto, ids = scene
    path = f"/projects/{proto.project_id}/identifications"
    for body, words in (
        ({"occurrence_ids": ids, "rejected": "a dust speck"}, "rejected"),
        ({"occurrence_ids": ids, "rejected": "nothing_there", "agree_with": "model"}, "one of"),
    ):
        assert words in str(_post(proto, path, body, 400)), body
    # A member of another project: the same answers as for an occurrence no one has.
    eve = proto.as_(make_account("eve"))
    other = _post(eve, "/projects", {"name": "Eve's"}, 201)["id"]
    missing = _post(eve, "/occurrences/999999/identifications", {"rejected": "nothing_there"}, 404)
    foreign = _post(
        eve, f"/occurrences/{ids[0]}/identifications", {"rejected": "nothing_there"}, 404
    )
    assert foreign["detail"] == missing["detail"].replace("999999", str(ids[0]))
    bulk = _post(
        eve.in_project(other),
        f"/projects/{other}/identifications",
        {"occurrence_ids": [ids[0]], "rejected": "nothing_there"},
        404,
    )
    assert bulk["detail"] == f"occurrences {ids[0]} not found in project {other}"
    undo = _post(eve, path, {"occurrence_ids": ids, "rejected": "nothing_there"}, 404)
    assert undo["detail"] == f"project {proto.project_id} not found"
    assert species_rows(proto) == [(None, 6, 6)]
