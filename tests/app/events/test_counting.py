"""Counts an ecologist can publish: people's identifications, splits and occurrence ids survive
new results on the same photos; two pipelines are never added up; a classifier's species
beats the detector's category; a project's kind sets its event rule."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest

from tests.support.accounts import Account, upload
from tests.support.exports import Seeded
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import (
    API,
    DAR,
    T0,
    add_frames,
    detail_of,
    event_of,
    heron_in_two_bursts,
    import_md,
    occurrences_of,
    regroup,
    track_all,
)
from tests.support.tallies import assert_counts_kept
from trapline.db.types import utcnow
from trapline.imaging.synthetic import light_trap_jpeg

TAXA = """scientific_name,rank,parent
Aves,class,
Ardeidae,family,Aves
Ardea cinerea,species,Ardeidae
Ardea alba,species,Ardeidae
"""
#: The classifier's categories the imports below use.
CLASSES = {"1": "Ardea cinerea", "2": "Ardea alba"}


@pytest.fixture(autouse=True)
def _kept_counts_agree(proto: Protocol) -> Iterator[None]:
    """After each scene, the tallies are the occurrences counted afresh, and the kept sums the
    tallies' sums."""
    yield
    assert_counts_kept(proto.platform.db)


def _taxa(proto: Protocol) -> dict[str, int]:
    answer = proto.client.post(
        f"{API}/projects/{proto.project_id}/taxa",
        files={"file": ("taxa.csv", io.BytesIO(TAXA.encode()), "text/csv")},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    found = api_get(proto, f"/projects/{proto.project_id}/taxa/search", q="a")
    return {t["scientific_name"]: t["id"] for t in found}


def _pond(proto: Protocol) -> int:
    made = api_post(
        proto,
        f"/projects/{proto.project_id}/deployments",
        {"name": "Pond", "time_zone": DAR, "latitude": -6.8, "longitude": 39.28},
        201,
    )
    add_frames(proto, made["id"], 10, timedelta(seconds=1), size=(640, 480))
    return int(made["id"])


def _bird(shift: float = 0.0, conf: float = 0.8, species: str | None = None) -> Any:
    """The heron's box in each of the ten frames (``shift``: moved right by that share of
    the width, as another run of a detector might draw it)."""
    return {
        f"Pond/frame-{i:02d}.jpg": [
            {
                "category": "1",
                "conf": conf,
                "bbox": [0.2 + i * 0.01 + shift, 0.3, 0.2, 0.3],
                **({"classifications": [[species, 0.81]]} if species else {}),
            }
        ]
        for i in range(10)
    }


def _run(proto: Protocol, shift: float = 0.0, *, reprocess: bool = False) -> None:
    """The test pipeline run over the project's photos as a job: one box a frame where the
    heron is, ``shift`` pixels further right than the first run drew it."""
    job = proto.job_that_runs(params={"reprocess": reprocess})["id"]
    tasks = proto.claim(job, 100)
    names = {
        i["id"]: i["filename"]
        for i in api_get(proto, f"/projects/{proto.project_id}/images/", limit=100)["results"]
    }
    items = []
    for task in tasks:
        frame = int(names[int(task["image_id"])][6:8])
        x1 = 128 + frame * 6.4 + shift
        items.append(success(task, detection(task, bbox=(x1, 144, x1 + 128, 288))))
    proto.post(job, *items)
    proto.wait(job, {"succeeded"})


def _species(proto: Protocol, **params: Any) -> list[tuple[str | None, int, int]]:
    rows = api_get(proto, f"/projects/{proto.project_id}/species", **params)["results"]
    return [
        (r["taxon"]["scientific_name"] if r["taxon"] else None, r["occurrences"], r["detections"])
        for r in rows
    ]


def test_a_rerun_keeps_ids_identifications_and_splits(
    proto: Protocol, make_account: Callable[..., Account]
) -> None:
    taxa = _taxa(proto)
    pond = _pond(proto)
    assert proto.register(pipeline_config()).status_code == 201
    _run(proto)
    assert track_all(proto) == 1
    event = event_of(proto, pond)
    (bird,) = occurrences_of(proto, event)
    boxes = [d["annotation_id"] for d in detail_of(proto, bird["id"])["detections"]]
    # A reviewer splits the burst in two, and two people identify the halves.
    split = api_post(proto, f"/occurrences/{bird['id']}/split", {"detection_ids": boxes[5:]})
    first, second = split["kept"]["id"], split["new"]["id"]
    api_post(
        proto, f"/occurrences/{first}/identifications", {"taxon_id": taxa["Ardea cinerea"]}, 201
    )
    ann = make_account("ann")
    proto.add_member(ann, "member")
    api_post(
        proto.as_(ann),
        f"/occurrences/{second}/identifications",
        {"taxon_id": taxa["Ardea alba"]},
        201,
    )
    labels = {o["determination"]["label"] for o in occurrences_of(proto, event)}
    assert labels == {"Ardea cinerea", "Ardea alba"}

    # The pipeline run again draws the boxes a few pixels off: new detections.
    _run(proto, shift=3, reprocess=True)
    assert track_all(proto) == 1
    after = {o["id"]: o for o in occurrences_of(proto, event)}
    assert {i: o["determination"]["label"] for i, o in after.items()} == {
        first: "Ardea cinerea",
        second: "Ardea alba",
    }
    new_boxes = {d["annotation_id"] for d in detail_of(proto, first)["detections"]}
    assert new_boxes.isdisjoint(boxes)  # the new run's detections carry them now
    assert sorted(_species(proto)) == [("Ardea alba", 1, 5), ("Ardea cinerea", 1, 5)]
    history = api_get(proto, f"/occurrences/{second}/identifications")
    assert [h["taxon"]["scientific_name"] for h in history] == ["Ardea alba"]
    assert api_get(proto, f"/projects/{proto.project_id}/identifications/unplaced")["count"] == 0

    # A run that finds the bird elsewhere has no successor for it: the identifications are
    # listed, not lost.
    _run(proto, shift=200, reprocess=True)
    assert track_all(proto) == 1
    unplaced = api_get(proto, f"/projects/{proto.project_id}/identifications/unplaced")
    assert unplaced["count"] == 2
    names = {u["taxon"]["scientific_name"] for u in unplaced["results"]}
    assert names == {"Ardea cinerea", "Ardea alba"}


def test_two_pipelines_are_never_added_up(proto: Protocol) -> None:
    _taxa(proto)
    pond = _pond(proto)
    import_md(proto, _bird(species="1"), detector="md_v5a.0.0.pt", classes=CLASSES)
    import_md(proto, _bird(shift=0.002, species="1"), detector="heron-net.pt", classes=CLASSES)
    assert track_all(proto) == 1
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert [p["occurrences"] for p in counting["pipelines"]] == [1, 1]
    # The classifier's species, not the detector's "animal", names the heron.
    assert _species(proto) == [("Ardea cinerea", 1, 10)]
    event = event_of(proto, pond)
    (heron,) = occurrences_of(proto, event)
    assert heron["pipeline"] == counting["pipeline"]
    other = next(p["pipeline"] for p in counting["pipelines"] if p["pipeline"] != heron["pipeline"])
    assert _species(proto, pipeline=other) == [("Ardea cinerea", 1, 10)]
    # The Darwin Core archive publishes it once, as the machine's observation.
    seeded = Seeded(proto, proto.project_id, {"Pond": pond}, {}, {})
    archive = zipfile.ZipFile(io.BytesIO(seeded.download(seeded.export(format="dwca")["id"])))
    rows = list(
        csv.DictReader(io.StringIO(archive.read("occurrence.txt").decode()), delimiter="\t")
    )
    assert [(r["scientificName"], r["basisOfRecord"]) for r in rows] == [
        ("Ardea cinerea", "MachineObservation")
    ]
    # The project names the other one: every count follows.
    answer = proto.client.patch(
        f"{API}/projects/{proto.project_id}",
        json={"counting_pipeline": other},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["counting_pipeline"] == other
    assert [o["pipeline"] for o in occurrences_of(proto, event)] == [other]
    refused = proto.client.patch(
        f"{API}/projects/{proto.project_id}",
        json={"counting_pipeline": "moth-blobs-x"},
        headers=proto.headers,
    )
    assert refused.status_code == 400
    assert (
        "counting_pipeline: 'moth-blobs-x' is not a pipeline of project" in refused.json()["detail"]
    )
    unknown = proto.client.get(
        f"{API}/projects/{proto.project_id}/species",
        params={"pipeline": "nothing"},
        headers=proto.headers,
    )
    assert unknown.status_code == 400
    assert "pipeline: 'nothing'" in unknown.json()["detail"]


def test_the_pipeline_with_most_detections_counts_until_its_photos_go(proto: Protocol) -> None:
    pond = _pond(proto)
    import_md(proto, _bird(), detector="md_v5a.0.0.pt")
    two = {
        name: [*boxes, {**boxes[0], "bbox": [0.6, 0.1, 0.1, 0.1]}]
        for name, boxes in _bird().items()
    }
    import_md(proto, two, detector="heron-net.pt")
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert [(p["occurrences"], p["detections"]) for p in counting["pipelines"]] == [
        (2, 20),
        (1, 10),
    ]
    assert counting["pipeline"] == counting["pipelines"][0]["pipeline"]
    # A regrouping into sequences of a second and back keeps the sums.
    regroup(proto, "sequence", 1)
    regroup(proto, "night")
    assert api_get(proto, f"/projects/{proto.project_id}/counting") == counting
    deleted = proto.client.delete(f"{API}/deployments/{pond}", headers=proto.headers)
    assert deleted.status_code == 204, deleted.text
    after = api_get(proto, f"/projects/{proto.project_id}/counting")
    assert (after["pipeline"], after["pipelines"]) == (None, [])


def test_a_projects_kind_sets_its_event_rule(proto: Protocol) -> None:
    kinds = {}
    for kind in ("light_trap", "camera_trap", "other"):
        made = api_post(proto, "/projects", {"name": f"A {kind}", "kind": kind}, 201)
        assert made["kind"] == kind
        kinds[kind] = made["id"]
    rules = {
        kind: (
            api_get(proto, f"/projects/{i}")["event_rule"],
            api_get(proto, f"/projects/{i}")["event_gap_seconds"],
        )
        for kind, i in kinds.items()
    }
    assert rules == {
        "light_trap": ("night", 60),
        "camera_trap": ("sequence", 60),
        "other": ("night", 60),
    }
    refused = proto.client.post(
        f"{API}/projects", json={"name": "X", "kind": "pitfall"}, headers=proto.headers
    )
    assert refused.status_code == 400
    assert refused.json()["detail"].startswith("kind:")


def test_a_job_no_worker_takes_does_not_freeze_counting(proto: Protocol) -> None:
    from datetime import UTC, datetime

    from trapline.services.ecology.tracking import QUEUED_TASKS_HOLD, track_due

    pond = _pond(proto)
    import_md(proto, _bird())
    # A job of a pipeline no worker runs: its tasks stay queued.
    assert proto.register(pipeline_config(slug="nobody-runs-this")).status_code == 201
    job = proto.job_that_runs(pipeline="nobody-runs-this")
    detail = api_get(proto, f"/jobs/{job['id']}/")
    assert detail["waiting_for_worker"] is True

    platform = proto.platform
    soon = datetime.now(UTC)
    assert track_due(platform.db, platform.store, now=soon) == 0  # it may still be taken
    later = soon + QUEUED_TASKS_HOLD + timedelta(seconds=1)
    assert track_due(platform.db, platform.store, now=later) == 1
    (heron,) = occurrences_of(proto, event_of(proto, pond))
    assert heron["detection_count"] == 10
    # A worker that claims a task of it: the job no longer waits for one.
    proto.claim(job["id"], 1)
    assert api_get(proto, f"/jobs/{job['id']}/")["waiting_for_worker"] is False


def test_every_page_and_export_counts_one_deployment_alike(proto: Protocol) -> None:
    """The grid, the project page, the deployment chart, the species view, the CSV and the
    event-level Camtrap DP of one deployment: two pipelines, a box a person maps as no
    object, a person's false detection."""
    from trapline.domain.core.records import User
    from trapline.services.review import reviews

    _taxa(proto)
    pond = _pond(proto)
    boxes = _bird(species="1")
    boxes["Pond/frame-04.jpg"].append({"category": "2", "conf": 0.7, "bbox": [0.8, 0.8, 0.1, 0.1]})
    boxes["Pond/frame-06.jpg"].append({"category": "1", "conf": 0.6, "bbox": [0.0, 0.0, 0.1, 0.1]})
    import_md(proto, boxes, classes=CLASSES)
    import_md(proto, _bird(shift=0.3), detector="heron-net.pt")
    api_post(proto, f"/projects/{proto.project_id}/labels", {"label": "person", "non_object": True})
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")["pipeline"]
    # A person calls the speck in frame 6 a false detection.
    event = event_of(proto, pond)
    speck = next(o for o in occurrences_of(proto, event) if o["detection_count"] == 1)
    box = detail_of(proto, speck["id"])["detections"][0]["annotation_id"]
    api_post(proto, f"/annotations/{box}/reviews", {"verdict": "false_detection"}, 201)
    assert track_all(proto) == 1

    with proto.platform.db.read() as repos:
        me = repos.core.users.get(proto.account.id)
    assert isinstance(me, User)
    db, pid = proto.platform.db, proto.project_id
    images = [i["id"] for i in api_get(proto, f"/projects/{pid}/images/", limit=100)["results"]]
    grid = sum(c.detections for c in reviews.image_counts(db, me, pid, images).values())
    project_page = sum(n for _, n in reviews.occurrence_labels(db, me, pid))
    chart = reviews.deployment_activity(db, me, pond, None, 90).nights
    species = api_get(proto, f"/projects/{pid}/species")["results"]
    seeded = Seeded(proto, pid, {"Pond": pond}, {}, {})
    table = seeded.download(seeded.export(format="csv", pipeline=counting)["id"])
    rows = list(csv.DictReader(io.StringIO(table.decode("utf-8-sig"))))
    package = seeded.download(seeded.export(format="camtrap-dp", observation_level="event")["id"])
    observed = zipfile.ZipFile(io.BytesIO(package)).read("observations.csv").decode()
    events = list(csv.DictReader(io.StringIO(observed)))

    occurrences = {
        "project page": project_page,
        "deployment chart": sum(night[3] for night in chart),
        "species view": sum(r["occurrences"] for r in species),
        "CSV": len({r["occurrence_id"] for r in rows if r["occurrence_id"]}),
        "Camtrap DP": sum(int(r["count"] or 0) for r in events if r["observationType"] == "animal"),
    }
    detections = {
        "grid": grid,
        "deployment chart": sum(night[2] for night in chart),
        "species view": sum(r["detections"] for r in species),
        "CSV": sum(1 for r in rows if r["occurrence_id"]),
    }
    assert occurrences == dict.fromkeys(occurrences, 1), occurrences
    assert detections == dict.fromkeys(detections, 10), detections


def test_a_regrouping_keeps_occurrence_ids_identifications_splits_and_unchanged_events(
    proto: Protocol,
) -> None:
    """Two bursts two minutes apart, one night: a heron (split by a reviewer, identified) in
    the first, an egret in the second. Grouped as sequences, then as a night again, and as
    sequences an hour long: the occurrences keep their ids, splits and identifications; an
    event made again photo for photo keeps its id."""
    taxa = _taxa(proto)
    pond = api_post(
        proto, f"/projects/{proto.project_id}/deployments", {"name": "Pond", "time_zone": DAR}, 201
    )["id"]
    frames = [
        (
            f"frame-{i:02d}.jpg",
            light_trap_jpeg(7, width=640, height=480, captured_at=at, quality=80 + i),
        )
        for i, at in enumerate(
            [T0 + timedelta(seconds=s) for s in range(5)]
            + [T0 + timedelta(seconds=120 + s) for s in range(5)]
        )
    ]
    assert (
        upload(proto.client, proto.account, proto.project_id, *frames, deployment_id=str(pond))[
            "status"
        ]
        == 201
    )
    heron = {
        f"Pond/frame-{i:02d}.jpg": [{"category": "1", "conf": 0.8, "bbox": [0.1, 0.1, 0.2, 0.3]}]
        for i in range(5)
    }
    egret = {
        f"Pond/frame-{i:02d}.jpg": [{"category": "1", "conf": 0.8, "bbox": [0.7, 0.6, 0.2, 0.3]}]
        for i in range(5, 10)
    }
    import_md(proto, heron | egret)
    (night,) = regroup(proto, "night")
    found = occurrences_of(proto, night)  # in order of first sighting
    assert [o["detection_count"] for o in found] == [5, 5]
    heron_id, egret_id = found[0]["id"], found[1]["id"]
    boxes = [d["annotation_id"] for d in detail_of(proto, heron_id)["detections"]]
    split = api_post(proto, f"/occurrences/{heron_id}/split", {"detection_ids": boxes[3:]})
    tail = split["new"]["id"]
    api_post(
        proto, f"/occurrences/{heron_id}/identifications", {"taxon_id": taxa["Ardea cinerea"]}, 201
    )
    api_post(
        proto, f"/occurrences/{egret_id}/identifications", {"taxon_id": taxa["Ardea alba"]}, 201
    )
    track_all(proto)

    def seen(event: int) -> dict[int, tuple[int, str | None]]:
        return {
            o["id"]: (o["detection_count"], o["determination"]["label"])
            for o in occurrences_of(proto, event)
        }

    first, second = regroup(proto, "sequence", 60)
    assert seen(first) == {heron_id: (3, "Ardea cinerea"), tail: (2, "animal")}
    assert seen(second) == {egret_id: (5, "Ardea alba")}
    (night,) = regroup(proto, "night")
    assert seen(night) == {
        heron_id: (3, "Ardea cinerea"),
        tail: (2, "animal"),
        egret_id: (5, "Ardea alba"),
    }
    # The same ten photos as one hour-long sequence: the night's event itself stays.
    assert regroup(proto, "sequence", 3600) == [night]
    assert len(seen(night)) == 3
    assert sorted(_species(proto), key=str) == [
        ("Ardea alba", 1, 5),
        ("Ardea cinerea", 1, 3),
        (None, 1, 2),
    ]


def test_the_species_view_shows_each_taxons_surest_occurrence(proto: Protocol) -> None:
    """Two grey herons (the classifier 0.6 and 0.9 sure) and an egret (0.7) in one burst: a
    species' crop is its surest occurrence, and so is the family's when rolled up."""
    _taxa(proto)
    pond = _pond(proto)

    def box(x: float, species: str, score: float) -> dict[str, Any]:
        return {
            "category": "1",
            "conf": 0.8,
            "bbox": [x, 0.3, 0.15, 0.2],
            "classifications": [[species, score]],
        }

    import_md(
        proto,
        {
            f"Pond/frame-{i:02d}.jpg": [
                box(0.05, "1", 0.6),
                box(0.4, "1", 0.9),
                box(0.75, "2", 0.7),
            ]
            for i in range(10)
        },
        classes=CLASSES,
    )
    track_all(proto)
    found = {
        o["determination"]["score"]: o["id"] for o in occurrences_of(proto, event_of(proto, pond))
    }
    assert sorted(found) == [0.6, 0.7, 0.9]
    rows = api_get(proto, f"/projects/{proto.project_id}/species")["results"]
    best = {
        r["taxon"]["scientific_name"]: (r["occurrences"], r["best_occurrence_id"]) for r in rows
    }
    assert best == {"Ardea cinerea": (2, found[0.9]), "Ardea alba": (1, found[0.7])}
    (family,) = api_get(proto, f"/projects/{proto.project_id}/species", rank="family")["results"]
    assert (family["occurrences"], family["best_occurrence_id"]) == (3, found[0.9])


def test_a_regrouping_that_parts_an_individual_keeps_it_counted_and_named(
    proto: Protocol,
) -> None:
    """A heron seen in two bursts two minutes apart is one individual of the night, named by a
    person. Grouped as sequences of a minute, its detections fall into two events: the
    occurrence keeps its id and name in the second (most of them), the first holds the rest as one
    of its own with the same name, both are tracked (nothing stalls), the species counts both,
    and the regrouping lists the parting."""
    taxa = _taxa(proto)
    pond = heron_in_two_bursts(proto)
    (night,) = regroup(proto, "night")
    (heron,) = occurrences_of(proto, night)
    assert heron["detection_count"] == 9
    api_post(
        proto,
        f"/occurrences/{heron['id']}/identifications",
        {"taxon_id": taxa["Ardea cinerea"]},
        201,
    )
    track_all(proto)

    answer = proto.client.put(
        f"{API}/projects/{proto.project_id}/event-rule",
        json={"rule": "sequence", "gap_seconds": 60},
        headers=proto.headers,
    )
    assert answer.status_code == 200, answer.text
    regrouping = answer.json()["regrouping"]["id"]
    assert proto.platform.regroupings.wait_idle(30)
    track_all(proto)
    first, second = (e["id"] for e in api_get(proto, f"/deployments/{pond}/events")["results"])
    with proto.platform.db.read() as repos:
        assert repos.ecology.tracking.due(100, utcnow()) == []  # every event tracked, none failing
    seen = {
        event: [
            (o["id"], o["detection_count"], o["determination"]["label"])
            for o in occurrences_of(proto, event)
        ]
        for event in (first, second)
    }
    assert seen[second] == [(heron["id"], 5, "Ardea cinerea")]
    ((other, count, label),) = seen[first]
    assert (other != heron["id"], count, label) == (True, 4, "Ardea cinerea")
    assert _species(proto) == [("Ardea cinerea", 2, 9)]
    parted = api_get(proto, f"/event-regroupings/{regrouping}")["not_kept"]
    assert len(parted) == 1, parted
    assert f"occurrence {heron['id']} was parted" in parted[0], parted
    assert f"4 in event {first}" in parted[0], parted
