"""Occurrences: a bird in ten frames of one sequence is one occurrence with local times; insects
sitting still on two photos are one occurrence each; running a pipeline three times changes
nothing; tracking waits for a job's open tasks; a person's review determines; the API pages."""

from __future__ import annotations

from array import array
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from tests.support.protocol import LABELS, detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.scenes import (
    API,
    add_frames,
    detail_of,
    event_of,
    heron,
    new_deployment,
    occurrences_of,
    track_all,
)
from trapline.db.tables import AnnotationRow, EventRow
from trapline.domain.processing.features import unpacked


def test_a_heron_in_ten_frames_is_one_occurrence_in_local_time(proto: Protocol) -> None:
    _, event = heron(proto)
    assert track_all(proto) == 0  # nothing is due any more
    found = occurrences_of(proto, event)
    assert sorted((o["determination"]["label"], o["detection_count"]) for o in found) == [
        ("animal", 10),
        ("person", 1),
    ]
    bird = next(o for o in found if o["detection_count"] == 10)
    assert bird["first_seen"] == "2024-03-01T21:30:00+03:00"
    assert bird["last_seen"] == "2024-03-01T21:30:09+03:00"
    assert bird["determination"] == {
        "label": "animal",
        "score": 0.89,
        "by": "model",
        "rejected": None,
    }
    detail = detail_of(proto, bird["id"])
    assert len(detail["detections"]) == 10
    assert detail["detections"][0]["link_cost"] is None
    assert all(0 <= d["link_cost"] <= 1.0 for d in detail["detections"][1:])
    assert detail["best_detection_id"] == detail["detections"][-1]["annotation_id"]


def _run(proto: Protocol, image_ids: list[int]) -> None:
    """One job of the test pipeline: each photo gets the same two boxes."""
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    scores = [0.05] * len(LABELS)
    scores[0] = 0.9
    items = [
        success(
            tasks[i],
            detection(tasks[i], bbox=(10, 12, 60, 70), label=LABELS[0], scores=scores),
            detection(tasks[i], bbox=(80, 20, 120, 90), label=LABELS[0], scores=scores),
        )
        for i in image_ids
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def _shape(occurrences: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return sorted(
        (o["determination"]["label"], o["detection_count"], o["first_seen"], o["last_seen"])
        for o in occurrences
    )


def test_still_insects_are_one_occurrence_each_and_three_runs_change_nothing(
    proto: Protocol,
) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(minutes=1), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    event = event_of(proto, trap)
    shapes, linked = [], []
    for _ in range(3):
        _run(proto, photos)
        assert track_all(proto) == 1
        found = occurrences_of(proto, event)
        shapes.append(_shape(found))
        linked.append(
            {d["annotation_id"] for o in found for d in detail_of(proto, o["id"])["detections"]}
        )
    assert shapes[0] == [
        (LABELS[0], 2, "2024-03-01T21:30:00Z", "2024-03-01T21:31:00Z"),
        (LABELS[0], 2, "2024-03-01T21:30:00Z", "2024-03-01T21:31:00Z"),
    ]
    assert shapes[1] == shapes[0]
    assert shapes[2] == shapes[0]
    # Each time only the current (latest) run's four detections are in them.
    assert [len(ids) for ids in linked] == [4, 4, 4]
    assert min(linked[1]) > max(linked[0])
    assert min(linked[2]) > max(linked[1])


def test_tracking_waits_for_a_jobs_open_tasks(proto: Protocol) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 1)}
    (first,) = tasks
    posted = proto.post(job["id"], success(tasks[first], detection(tasks[first])))
    assert [p["status"] for p in posted] == ["saved"]
    assert track_all(proto) == 0  # the other photo's task is still open
    (rest,) = proto.claim(job["id"], 1)
    proto.post(job["id"], success(rest, detection(rest)))
    assert track_all(proto) == 1
    (occurrence,) = occurrences_of(proto, event_of(proto, trap))
    assert occurrence["detection_count"] == len(photos)


def test_a_persons_review_determines_and_a_false_detection_leaves(proto: Protocol) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    _run(proto, photos)
    track_all(proto)
    event = event_of(proto, trap)
    first, second = sorted(occurrences_of(proto, event), key=lambda o: o["best_detection_id"])
    detections = detail_of(proto, first["id"])["detections"]
    relabel = proto.client.post(
        f"{API}/annotations/{detections[0]['annotation_id']}/reviews",
        json={"verdict": "relabel", "label": "Agrotis ipsilon"},
        headers=proto.headers,
    )
    assert relabel.status_code == 201, relabel.text
    for d in detail_of(proto, second["id"])["detections"]:
        gone = proto.client.post(
            f"{API}/annotations/{d['annotation_id']}/reviews",
            json={"verdict": "false_detection"},
            headers=proto.headers,
        )
        assert gone.status_code == 201, gone.text
    assert track_all(proto) == 1
    (left,) = occurrences_of(proto, event)
    assert left["determination"] == {
        "label": "Agrotis ipsilon",
        "score": None,
        "by": "person",
        "rejected": None,
    }
    assert left["detection_count"] == 2


def test_occurrence_listing_pages_and_unknown_ids_answer_404(proto: Protocol) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    _run(proto, photos)
    track_all(proto)
    event = event_of(proto, trap)
    page = proto.client.get(
        f"{API}/events/{event}/occurrences", params={"limit": 1}, headers=proto.headers
    ).json()
    assert page["count"] == 2
    assert len(page["results"]) == 1
    assert page["next"] is not None
    for path in (f"/events/{event + 1000}/occurrences", "/occurrences/999999"):
        missing = proto.client.get(API + path, headers=proto.headers)
        assert missing.status_code == 404, missing.text
        assert missing.json()["code"] == "not_found"


def _features_run(proto: Protocol, photos: list[int], vectors: list[list[float]]) -> None:
    """A box that moved 25 px between the two photos, each classification with a vector."""
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    items = []
    for n, (image_id, vector) in enumerate(zip(photos, vectors, strict=True)):
        found = detection(tasks[image_id], bbox=(10 + 25 * n, 12, 60 + 25 * n, 70))
        found["classifications"][0]["features"] = vector
        items.append(success(tasks[image_id], found))
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def test_a_pipelines_feature_vectors_decide_what_looks_alike(proto: Protocol) -> None:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    event = event_of(proto, trap)
    # Moved half its width (0.79 of cost in overlap and distance) and alike: one occurrence.
    _features_run(proto, photos, [[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]])
    track_all(proto)
    assert [o["detection_count"] for o in occurrences_of(proto, event)] == [2]
    # The same boxes, but the classifier says they look nothing alike (1.79): two.
    _features_run(proto, photos, [[1.0, 0.0, 0.0], [0.0, 0.0, 1.0]])
    track_all(proto)
    assert [o["detection_count"] for o in occurrences_of(proto, event)] == [1, 1]


def _two_still_insects(proto: Protocol) -> tuple[int, list[dict[str, Any]]]:
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 3, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    _run(proto, photos)
    track_all(proto)
    event = event_of(proto, trap)
    return event, sorted(occurrences_of(proto, event), key=lambda o: o["best_detection_id"])


def test_a_reviewer_splits_and_merges_and_tracking_keeps_their_work(proto: Protocol) -> None:
    event, (left, right) = _two_still_insects(proto)
    boxes = [d["annotation_id"] for d in detail_of(proto, left["id"])["detections"]]
    split = proto.client.post(
        f"{API}/occurrences/{left['id']}/split",
        json={"detection_ids": boxes[2:]},
        headers=proto.headers,
    )
    assert split.status_code == 200, split.text
    kept, new = split.json()["kept"], split.json()["new"]
    assert (kept["id"], kept["detection_count"], new["detection_count"]) == (left["id"], 2, 1)
    assert new["first_seen"] == "2024-03-01T21:30:20Z"
    # A review elsewhere in the event tracks it again: the split stays.
    other = detail_of(proto, right["id"])["detections"][0]["annotation_id"]
    reviewed = proto.client.post(
        f"{API}/annotations/{other}/reviews", json={"verdict": "confirm"}, headers=proto.headers
    )
    assert reviewed.status_code == 201, reviewed.text
    assert track_all(proto) == 1
    counts = sorted(o["detection_count"] for o in occurrences_of(proto, event))
    assert counts == [1, 2, 3]

    merged = proto.client.post(
        f"{API}/events/{event}/occurrences/merge",
        json={"occurrence_ids": [kept["id"], new["id"]]},
        headers=proto.headers,
    )
    assert merged.status_code == 200, merged.text
    assert (merged.json()["id"], merged.json()["detection_count"]) == (kept["id"], 3)
    assert track_all(proto) == 0
    assert sorted(o["detection_count"] for o in occurrences_of(proto, event)) == [3, 3]
    gone = proto.client.get(f"{API}/occurrences/{new['id']}", headers=proto.headers)
    assert gone.status_code == 404


def test_bad_splits_and_merges_are_400s_naming_the_field(proto: Protocol) -> None:
    event, (left, right) = _two_still_insects(proto)
    mine = [d["annotation_id"] for d in detail_of(proto, left["id"])["detections"]]
    theirs = detail_of(proto, right["id"])["detections"][0]["annotation_id"]
    for body in ({"detection_ids": mine}, {"detection_ids": [theirs]}, {"detection_ids": []}):
        refused = proto.client.post(
            f"{API}/occurrences/{left['id']}/split", json=body, headers=proto.headers
        )
        assert refused.status_code == 400, refused.text
        assert "detection_ids" in refused.json()["detail"]
    for ids in ([left["id"]], [left["id"], left["id"]]):
        refused = proto.client.post(
            f"{API}/events/{event}/occurrences/merge",
            json={"occurrence_ids": ids},
            headers=proto.headers,
        )
        assert refused.status_code == 400, refused.text
        assert "occurrence_ids" in refused.json()["detail"]
    # Occurrences of another event (another deployment) do not merge.
    elsewhere = new_deployment(proto, "Wall", "UTC")
    photos = add_frames(proto, elsewhere, 1, timedelta(seconds=10), size=(160, 120), seed=8)
    _run(proto, photos)
    track_all(proto)
    (far,) = occurrences_of(proto, event_of(proto, elsewhere))[:1]
    refused = proto.client.post(
        f"{API}/events/{event}/occurrences/merge",
        json={"occurrence_ids": [left["id"], far["id"]]},
        headers=proto.headers,
    )
    assert refused.status_code == 400, refused.text
    assert "different events" in refused.json()["detail"]
    # An id no row can have is missing, not invalid: the document sets no bound on it.
    beyond = proto.client.post(
        f"{API}/events/{event}/occurrences/merge",
        json={"occurrence_ids": [left["id"], 2**64]},
        headers=proto.headers,
    )
    assert beyond.status_code == 404, beyond.text
    stranger = proto.client.post(
        f"{API}/occurrences/{left['id']}/split",
        json={"detection_ids": [2**64]},
        headers=proto.headers,
    )
    assert stranger.status_code == 400, stranger.text
    assert "are not detections of occurrence" in stranger.json()["detail"]


def test_feature_vectors_are_stored_packed_and_those_stored_as_json_still_read(
    proto: Protocol,
) -> None:
    """Issue 62 item 3: a classification's vector is stored as 4-byte floats in a column of its
    own, not as JSON numbers in its data; a row stored before, its vector in its JSON, is
    still compared by it."""
    trap = new_deployment(proto, "Sheet", "UTC")
    photos = add_frames(proto, trap, 2, timedelta(seconds=10), size=(160, 120))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    event = event_of(proto, trap)
    _features_run(proto, photos, [[0.6, 0.8, 0.0], [0.6, 0.8, 0.0]])
    track_all(proto)
    assert [o["detection_count"] for o in occurrences_of(proto, event)] == [2]
    a = AnnotationRow
    with proto.platform.db.write() as repos:
        rows = repos.session.scalars(
            select(a).where(a.type == "classification").order_by(a.id)
        ).all()
        assert [unpacked(r.features or b"") for r in rows] == [array("f", [0.6, 0.8, 0.0])] * 2
        assert all("features" not in (r.data or {}) for r in rows)
        # As rows were stored before: the vectors in the JSON, nothing packed; these say the
        # two boxes look nothing alike.
        for row, vector in zip(rows, ([1.0, 0.0, 0.0], [0.0, 0.0, 1.0]), strict=True):
            row.data = {**(row.data or {}), "features": vector}
            row.features = None
        repos.session.execute(
            update(EventRow)
            .where(EventRow.id == event)
            .values(tracking_version=EventRow.tracking_version + 1)
        )
    track_all(proto)
    assert [o["detection_count"] for o in occurrences_of(proto, event)] == [1, 1]
