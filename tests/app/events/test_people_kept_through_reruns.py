"""What people did with boxes and occurrences outlives re-runs and regroupings: a review
counts for the box's successor through every later re-run and tracking (a false detection stays
out, a relabel keeps naming the animal), a withdrawn identification stays in the history, and
a withdrawn word does not keep a parted occurrence's parts from their name (docs/counting.md,
docs/taxa.md). Each test drives the public API as a person and a worker would."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.accounts import Account, upload
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    DAR,
    T0,
    TAXA_CSV,
    add_frames,
    detail_of,
    event_of,
    find_taxon,
    import_taxa,
    new_deployment,
    occurrences_of,
    regroup,
    track_all,
)
from tests.support.tallies import assert_counts_kept
from trapline.imaging.synthetic import light_trap_jpeg

#: The speck's box (pixels) on frame 6 only: far from the heron.
SPECK = (560.0, 20.0, 600.0, 60.0)


@pytest.fixture(autouse=True)
def _kept_counts_agree(proto: Protocol) -> Iterator[None]:
    """After each scene, the tallies are the occurrences counted afresh."""
    yield
    assert_counts_kept(proto.platform.db)


def _taxa(proto: Protocol) -> dict[str, int]:
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    return {name: find_taxon(proto, name) for name in ("Ardea cinerea", "Ardea alba")}


def _tracked_pond(proto: Protocol, *, speck: bool = False) -> tuple[dict[str, int], int]:
    """Ten frames a second apart at a pond (one event), the heron boxed in each (and with
    ``speck`` a speck in one), tracked: the taxa by name, and the event."""
    taxa = _taxa(proto)
    pond = new_deployment(proto)
    add_frames(proto, pond, 10, timedelta(seconds=1), size=(640, 480))
    _register(proto)
    _run(proto, speck=speck)
    track_all(proto)
    return taxa, event_of(proto, pond)


def _relabel(proto: Protocol, heron: int) -> None:
    """A person relabels the heron's box of frame 3 *Ardea alba* (a name no model gave)."""
    box = _box_on_frame(proto, heron, 3)
    body = {"verdict": "relabel", "label": "Ardea alba"}
    api_post(proto, f"/annotations/{box}/reviews", body, 201)
    track_all(proto)


def _names(proto: Protocol) -> dict[int, str]:
    return {
        i["id"]: i["filename"]
        for i in api_get(proto, f"/projects/{proto.project_id}/images/", limit=100)["results"]
    }


def _run(
    proto: Protocol, shift: float = 0.0, *, reprocess: bool = False, speck: bool = False
) -> int:
    """One job of the worker pipeline over the project's photos: the heron's box in each frame
    (``shift`` pixels right of where the first run drew it), and with ``speck`` a small box
    far off in frame 6. The job's id, once it succeeded."""
    job = proto.job_that_runs(pipeline=PIPELINE_SLUG, params={"reprocess": reprocess})["id"]
    tasks = proto.claim(job, 100)
    names = _names(proto)
    items = []
    for task in tasks:
        frame = int(names[int(task["image_id"])][6:8])
        x1 = 128 + frame * 6.4 + shift
        found = [detection(task, bbox=(x1, 144, x1 + 128, 288))]
        if speck and frame == 6:
            found.append(detection(task, bbox=SPECK))
        items.append(success(task, *found))
    proto.post(job, *items)
    proto.wait(job, {"succeeded"})
    return int(job)


def _register(proto: Protocol) -> None:
    answer = proto.register(pipeline_config())
    assert answer.status_code in (200, 201), answer.text


def _species(proto: Protocol, **params: Any) -> list[tuple[str | None, int, int]]:
    rows = api_get(proto, f"/projects/{proto.project_id}/species", **params)["results"]
    return sorted(
        (
            (
                r["taxon"]["scientific_name"] if r["taxon"] else None,
                r["occurrences"],
                r["detections"],
            )
            for r in rows
        ),
        key=str,
    )


def _seen(proto: Protocol, event: int) -> dict[int, tuple[int, str | None, str]]:
    """An event's occurrences: id -> (detections, determination's label, by whom)."""
    return {
        o["id"]: (o["detection_count"], o["determination"]["label"], o["determination"]["by"])
        for o in occurrences_of(proto, event)
    }


def _boxes(proto: Protocol, occurrence: int) -> list[int]:
    return [d["annotation_id"] for d in detail_of(proto, occurrence)["detections"]]


def _box_on_frame(proto: Protocol, occurrence: int, frame: int) -> int:
    """The occurrence's detection on frame ``frame`` (by file name)."""
    names = _names(proto)
    (found,) = [
        d["annotation_id"]
        for d in detail_of(proto, occurrence)["detections"]
        if names[d["image_id"]] == f"frame-{frame:02d}.jpg"
    ]
    return int(found)


def _history(proto: Protocol, occurrence: int) -> list[tuple[int, str | None, str, str, bool]]:
    """An occurrence's identifications: (id, taxon, comment, created_at, withdrawn)."""
    return [
        (
            i["id"],
            i["taxon"]["scientific_name"] if i["taxon"] else None,
            i["comment"],
            i["created_at"],
            i["withdrawn"],
        )
        for i in api_get(proto, f"/occurrences/{occurrence}/identifications")
    ]


def _pipelines(proto: Protocol) -> list[tuple[str, int, int]]:
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    return [(p["pipeline"], p["occurrences"], p["detections"]) for p in counting["pipelines"]]


def _two_bursts(proto: Protocol) -> int:
    """Two bursts of five frames two minutes apart, one night."""
    pond = api_post(
        proto, f"/projects/{proto.project_id}/deployments", {"name": "Pond", "time_zone": DAR}, 201
    )["id"]
    times = [T0 + timedelta(seconds=s) for s in range(5)]
    times += [T0 + timedelta(seconds=120 + s) for s in range(5)]
    frames = [
        (
            f"frame-{i:02d}.jpg",
            light_trap_jpeg(7, width=640, height=480, captured_at=at, quality=80 + i),
        )
        for i, at in enumerate(times)
    ]
    body = upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))
    assert body["status"] == 201, body
    return int(pond)


def test_a_false_detection_stays_out_after_the_photo_is_run_again(proto: Protocol) -> None:
    """counting.md: "A review stays on the box it judged ...; for counting, the successor of a
    reviewed box is taken as reviewed the same way until someone reviews it." A speck a person
    called a false detection must not come back as an individual when the pipeline runs the
    photo again and draws the same box."""
    _, event = _tracked_pond(proto, speck=True)
    speck = next(i for i, (n, _, _) in _seen(proto, event).items() if n == 1)
    (box,) = _boxes(proto, speck)
    api_post(proto, f"/annotations/{box}/reviews", {"verdict": "false_detection"}, 201)
    track_all(proto)
    assert [n for n, _, _ in _seen(proto, event).values()] == [10]
    assert _pipelines(proto) == [(PIPELINE_SLUG, 1, 10)]
    # The same version run again over the photos: the same boxes, new detections.
    _run(proto, reprocess=True, speck=True)
    track_all(proto)
    assert [n for n, _, _ in _seen(proto, event).values()] == [10], _seen(proto, event)
    assert _pipelines(proto) == [(PIPELINE_SLUG, 1, 10)]


def test_a_relabel_lasts_through_two_reruns(proto: Protocol) -> None:
    """A person relabels one box of the heron *Ardea alba* (a name no model gave): the
    occurrence is determined by that review (counting.md, "What an occurrence is determined
    as", 2.). The successor of a reviewed box "is taken as reviewed the same way until
    someone reviews it" - so through every later re-run too, not the first alone."""
    _, event = _tracked_pond(proto)
    (heron,) = _seen(proto, event)
    _relabel(proto, heron)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}
    assert _species(proto) == [("Ardea alba", 1, 10)]
    _run(proto, shift=2, reprocess=True)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}, "first re-run"
    _run(proto, shift=4, reprocess=True)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}, "second re-run"
    assert _species(proto) == [("Ardea alba", 1, 10)]


def test_a_relabel_carried_by_a_rerun_survives_a_review_of_another_box(proto: Protocol) -> None:
    """A person relabels a box of the heron *Ardea alba*; the pipeline runs the photos again
    (the relabel is carried to the successor: counting.md "taken as reviewed the same way
    until someone reviews it"). The person then calls a speck elsewhere in the event a false
    detection. Nobody reviewed the heron's box again, so the heron stays *Ardea alba*."""
    _, event = _tracked_pond(proto, speck=True)
    heron = next(i for i, (n, _, _) in _seen(proto, event).items() if n == 10)
    _relabel(proto, heron)
    _run(proto, shift=2, reprocess=True, speck=True)
    track_all(proto)
    found = _seen(proto, event)
    assert found[heron] == (10, "Ardea alba", "person")
    speck = next(i for i, (n, _, _) in found.items() if n == 1)
    (speck_box,) = _boxes(proto, speck)
    api_post(proto, f"/annotations/{speck_box}/reviews", {"verdict": "false_detection"}, 201)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}
    assert _species(proto) == [("Ardea alba", 1, 10)]


def test_a_relabel_carried_by_a_rerun_still_determines_after_an_identification_is_withdrawn(
    proto: Protocol,
) -> None:
    """After one re-run the relabelled box's successor is "taken as reviewed the same way".
    A person then names the heron and withdraws it: "withdrawing ... no longer counts it", so
    the determination falls back to the next rule, the person's review (taxa.md, "The
    determination rule")."""
    taxa, event = _tracked_pond(proto)
    (heron,) = _seen(proto, event)
    _relabel(proto, heron)
    _run(proto, shift=2, reprocess=True)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}
    named = api_post(
        proto, f"/occurrences/{heron}/identifications", {"taxon_id": taxa["Ardea cinerea"]}, 201
    )
    assert detail_of(proto, heron)["determination"]["label"] == "Ardea cinerea"
    api_post(proto, f"/identifications/{named['id']}/withdraw", {}, 200)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea alba", "person")}
    assert _species(proto) == [("Ardea alba", 1, 10)]


def test_a_withdrawn_identification_stays_in_the_history_through_a_rerun(
    proto: Protocol,
) -> None:
    """taxa.md: identifications "are never replaced: the history (GET
    /api/v2/occurrences/{id}/identifications) keeps who, when, what"; withdrawing "keeps it in
    the history". A person names one detection of the heron, withdraws it and names the
    heron again; after a re-run the heron's history still holds all of it."""
    taxa, event = _tracked_pond(proto)
    (heron,) = _seen(proto, event)
    box = _box_on_frame(proto, heron, 4)
    first = api_post(
        proto, f"/annotations/{box}/identifications", {"taxon_id": taxa["Ardea alba"]}, 201
    )
    api_post(proto, f"/identifications/{first['id']}/withdraw", {}, 200)
    second = api_post(
        proto, f"/occurrences/{heron}/identifications", {"taxon_id": taxa["Ardea cinerea"]}, 201
    )
    track_all(proto)
    before = _history(proto, heron)
    assert [(h[0], h[1], h[4]) for h in before] == [
        (first["id"], "Ardea alba", True),
        (second["id"], "Ardea cinerea", False),
    ]
    _run(proto, shift=3, reprocess=True)
    track_all(proto)
    assert _seen(proto, event) == {heron: (10, "Ardea cinerea", "person")}
    assert _history(proto, heron) == before


def test_a_parted_heron_is_named_in_both_parts_despite_a_withdrawn_word(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    """Olive names one detection of the night's heron in the second burst (the heron is then
    hers: "the latest identification, not withdrawn, on any of its detections"). Ann names a
    detection of the first burst otherwise and withdraws it. The rule becomes sequences:
    counting.md - the parted heron's parts each get "a copy of the identifications it lacks
    (people named the animal, not the sequence), so the name counts in every part". A
    withdrawn word outranks nothing, so both parts are Olive's *Ardea cinerea*."""
    taxa = _taxa(proto)
    _two_bursts(proto)
    _register(proto)
    (night,) = regroup(proto, "night")
    _run(proto)
    track_all(proto)
    (heron,) = _seen(proto, night)
    api_post(
        proto,
        f"/annotations/{_box_on_frame(proto, heron, 7)}/identifications",
        {"taxon_id": taxa["Ardea cinerea"]},
        201,
    )
    ann = make_account("ann")
    proto.add_member(ann, "member")
    second = api_post(
        proto.as_(ann),
        f"/annotations/{_box_on_frame(proto, heron, 2)}/identifications",
        {"taxon_id": taxa["Ardea alba"]},
        201,
    )
    api_post(proto.as_(ann), f"/identifications/{second['id']}/withdraw", {}, 200)
    track_all(proto)
    assert _seen(proto, night) == {heron: (10, "Ardea cinerea", "person")}
    first, later = regroup(proto, "sequence", 60)
    parts = [*_seen(proto, first).values(), *_seen(proto, later).values()]
    assert sorted(parts) == [(5, "Ardea cinerea", "person")] * 2, parts
    assert _species(proto) == [("Ardea cinerea", 2, 10)]
