"""Current results: running one pipeline again changes no count and no export; a pinned
version's results are the current ones; an export can still take every run."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime
from typing import Any

from tests.support.exports import Seeded, seed_project
from tests.support.protocol import LABELS, detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from trapline.domain.core.records import ImageFilter, User
from trapline.services.review import reviews

API = "/api/v2"


def _run(proto: Protocol, image_ids: list[int], label: str = LABELS[0]) -> None:
    """One job of the newest registered version; each image gets the same two boxes."""
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    scores = [0.05] * len(LABELS)
    scores[LABELS.index(label)] = 0.9
    items = [
        success(
            tasks[i],
            detection(tasks[i], bbox=(10, 12, 60, 70), label=label, scores=scores),
            detection(tasks[i], bbox=(80, 20, 120, 90), label=label, scores=scores),
        )
        for i in image_ids
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}


def _user(proto: Protocol) -> User:
    with proto.platform.db.read() as repos:
        user = repos.core.users.get(proto.account.id)
    assert user is not None
    return user


def _counts(proto: Protocol, image_ids: list[int]) -> dict[str, Any]:
    """What people read of photos' results: the grid's tiles and its label filter. (The
    project page's labels count tracked occurrences: ``tests/app/events/test_counting.py``.)"""
    db, me, pid = proto.platform.db, _user(proto), proto.project_id
    tiles = reviews.image_counts(db, me, pid, image_ids)
    with db.read() as repos:
        filtered = repos.photos.images.count(pid, ImageFilter(label=LABELS[0], min_confidence=0.5))
        with_boxes = repos.photos.images.count(pid, ImageFilter(has_detections=True))
        labels = [
            (label, repos.photos.images.count(pid, ImageFilter(label=label)))
            for label in LABELS
            if repos.photos.images.count(pid, ImageFilter(label=label))
        ]
    return {
        "labels": labels,
        "tiles": {i: c.detections for i, c in tiles.items()},
        "label filter": filtered,
        "with detections": with_boxes,
    }


def _exported(seeded: Seeded, fmt: str, **options: Any) -> list[dict[str, str]]:
    done = seeded.export(format=fmt, **options)
    assert done["status"] == "succeeded", done
    data = seeded.download(done["id"])
    if fmt == "camtrap-dp":
        text = zipfile.ZipFile(io.BytesIO(data)).read("observations.csv").decode()
    else:
        text = data.decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    # The ids differ from run to run by construction; what was found must not.
    varying = ("observationID", "detection_id", "classificationTimestamp", "processed_at")
    return [{k: v for k, v in row.items() if k not in varying} for row in rows]


def test_three_runs_count_and_export_as_one(proto: Protocol) -> None:
    trap = proto.deployment()
    images = proto.images(3, deployment_id=str(trap))
    assert proto.register(pipeline_config()).status_code in (200, 201)
    seeded = Seeded(proto, proto.project_id, {"Trap A": trap}, {}, dict.fromkeys(images, trap))
    _run(proto, images)
    once = _counts(proto, images)
    assert once["labels"] == [(LABELS[0], 3)]  # photos with the label
    assert once["tiles"] == dict.fromkeys(images, 2)
    exports_once = {f: _exported(seeded, f) for f in ("csv", "camtrap-dp")}
    assert len(exports_once["csv"]) == 6
    _run(proto, images)
    _run(proto, images)
    assert _counts(proto, images) == once
    for fmt, rows in exports_once.items():
        assert _exported(seeded, fmt) == rows, fmt
    # Every run on request: three times the boxes.
    assert len(_exported(seeded, "csv", all_runs=True)) == 18


def test_a_pinned_version_is_current(proto: Protocol) -> None:
    images = proto.images(2)
    assert proto.register(pipeline_config(version=1)).status_code in (200, 201)
    _run(proto, images, label=LABELS[1])
    assert proto.register(pipeline_config(version=2)).status_code in (200, 201)
    _run(proto, images, label=LABELS[2])
    assert _counts(proto, images)["labels"] == [(LABELS[2], 2)]  # the newest version
    pins = f"{API}/projects/{proto.project_id}/pinned-pipelines"
    slug = pipeline_config()["slug"]
    missing = proto.client.put(f"{pins}/{slug}", json={"version": 7}, headers=proto.headers)
    assert missing.status_code == 400, missing.text
    assert missing.json()["detail"].startswith("version:")
    pinned = proto.client.put(f"{pins}/{slug}", json={"version": 1}, headers=proto.headers)
    assert pinned.status_code == 204, pinned.text
    assert proto.client.get(pins, headers=proto.headers).json() == {slug: 1}
    assert _counts(proto, images)["labels"] == [(LABELS[1], 2)]
    assert proto.client.delete(f"{pins}/{slug}", headers=proto.headers).status_code == 204
    assert _counts(proto, images)["labels"] == [(LABELS[2], 2)]


def test_an_open_analysis_elsewhere_changes_no_export(proto: Protocol) -> None:
    """An analysis that is not completed (an external pipeline's, queued) is read with its own
    image's batch only: one of another project's, at a lower image id, once made every image
    of this project's batches read as unprocessed."""
    made = proto.client.post(f"{API}/projects/", json={"name": "Other"}, headers=proto.headers)
    assert made.status_code == 201, made.text
    other = proto.in_project(made.json()["id"])
    (foreign_image,) = other.images(1)
    with proto.platform.db.write() as repos:
        repos.processing.analyses.create(
            project_id=other.project_id, image_id=foreign_image, model_name="external",
            model_version="1", parameters={}, provenance={}, requested_by_id=proto.account.id,
            now=datetime.now(UTC),
        )  # fmt: skip
    seeded = seed_project(proto)
    done = seeded.export(format="csv")
    assert done["status"] == "succeeded", done
    counts = done["counts"]
    assert (counts["images"], counts["detections"]) == (9, len(seeded.boxes)), counts
    assert (counts["empty"], counts["failed"], counts["unprocessed"]) == (2, 1, 0), counts
