"""A project whose deployments count by different pipelines (both ran on both) counts each
deployment by its own in every count: the species view, the count tables, the listings, the
identification queue, the occurrence export and the record table for camtrapR alike
(docs/counting.md: the R tables "name what they count in their pipeline field: one pipeline,
or the deployments' pipelines comma-separated")."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

from tests.support.exports import Seeded
from tests.support.protocol import (
    LABELS,
    PIPELINE_SLUG,
    detection,
    failure,
    pipeline_config,
    success,
)
from tests.support.protocol_client import API, Protocol, api_get
from tests.support.scenes import add_frames, new_deployment, track_all

Box = tuple[float, float, float, float]


def _register(proto: Protocol, slug: str, version: int = 1, **extra: Any) -> None:
    answer = proto.register(pipeline_config(slug, version=version, **extra))
    assert answer.status_code in (200, 201), answer.text


def _run(
    proto: Protocol,
    slug: str,
    boxes: dict[int, list[tuple[Box, str]]],
    **fields: Any,
) -> int:
    """A job of ``slug`` whose tasks for these photos get these boxes (label of LABELS); the
    job's other tasks are answered as failed (an empty answer would replace their results, an
    unanswered task would hold their events' tracking back); the job's id."""
    params = {"max_attempts": 1, "reprocess": True, **fields.pop("params", {})}
    job = proto.job_that_runs(pipeline=slug, params=params, **fields)
    tasks = proto.claim(job["id"], 100)
    items = []
    for task in tasks:
        if int(task["image_id"]) not in boxes:
            items.append(failure(task, "not asked"))
            continue
        found = []
        for box, label in boxes.get(int(task["image_id"]), []):
            scores = [0.05] * len(LABELS)
            scores[LABELS.index(label)] = 0.9
            found.append(detection(task, slug=slug, bbox=box, label=label, scores=scores))
        items.append(success(task, *found, slug=slug))
    answers = proto.post(job["id"], *items)
    assert {a["status"] for a in answers} <= {"saved", "failed"}, answers
    return int(job["id"])


def _species_total(proto: Protocol, **params: Any) -> int:
    rows = api_get(proto, f"/projects/{proto.project_id}/species", **params)["results"]
    return sum(int(r["occurrences"]) for r in rows)


def _every_count(proto: Protocol, **params: Any) -> dict[str, int]:
    """Every count the API answers for the project, each summed to one number."""
    pid = proto.project_id
    species = dict(params)
    if "deployment" in species:
        species["deployment_id"] = species.pop("deployment")
    found = {"species": _species_total(proto, **species)}
    for by in ("night", "event", "deployment", "hour"):
        rows = api_get(proto, f"/projects/{pid}/counts", by=by, **params)["rows"]
        found[f"counts_by_{by}"] = sum(int(r["individuals"]) for r in rows)
    events = api_get(proto, f"/projects/{pid}/events", limit=1000, **params)["results"]
    found["events"] = sum(int(e["individuals"]) for e in events)
    found["occurrences"] = int(
        api_get(proto, f"/projects/{pid}/occurrences", limit=1000, **params)["count"]
    )
    found["record_table"] = _record_table_count(proto, **params)
    return found


def _record_table_count(proto: Protocol, **params: Any) -> int:
    """The record table's rows (individuals: duplicates kept)."""
    table = proto.client.get(
        f"{API}/projects/{proto.project_id}/record-table",
        params={"remove_duplicate_records": "false", **params},
        headers=proto.headers,
    )
    assert table.status_code == 200, table.text
    return int(table.json()["count"])


def _occurrence_rows(proto: Protocol, **body: Any) -> list[dict[str, str]]:
    """The occurrences-csv export's rows (every occurrence, named or not)."""
    seeded = Seeded(proto, proto.project_id, {}, {}, {})
    done = seeded.export(format="occurrences-csv", **body)
    assert done["status"] == "succeeded", done
    text = seeded.download(done["id"]).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _frames(proto: Protocol, name: str, count: int, seed: int = 7) -> tuple[int, list[int]]:
    deployment = new_deployment(proto, name)
    ids = add_frames(proto, deployment, count, timedelta(seconds=5), size=(320, 240), seed=seed)
    return deployment, ids


def test_every_count_adds_deployments_not_pipelines_when_deployments_differ(
    proto: Protocol,
) -> None:
    """North counts by moth-test, South by other-test; both pipelines ran on both. Each count
    of the project is North's moth-test individuals plus South's other-test ones: the hour
    table (read from the occurrences) and the listings alike."""
    north, north_photos = _frames(proto, "North", 2, seed=7)
    _register(proto, PIPELINE_SLUG)
    _run(proto, PIPELINE_SLUG, {p: [((10, 12, 60, 70), "moth")] for p in north_photos})
    track_all(proto)
    south, south_photos = _frames(proto, "South", 2, seed=9)
    _register(proto, "other-test")
    two = [((10, 12, 60, 70), "fly"), ((200, 100, 260, 160), "fly")]
    _run(proto, "other-test", {p: list(two) for p in [*north_photos, *south_photos]})
    track_all(proto)
    one = [((100, 12, 150, 70), "moth")]
    _run(proto, PIPELINE_SLUG, {p: list(one) for p in [*north_photos, *south_photos]})
    track_all(proto)
    counting = api_get(proto, f"/projects/{proto.project_id}/counting")
    by = {d["deployment_id"]: d["pipeline"] for d in counting["deployments"]}
    assert by == {north: PIPELINE_SLUG, south: "other-test"}, counting
    # North: one moth (moth-test's); South: two flies (other-test's).
    assert _every_count(proto) == dict.fromkeys(_every_count(proto), 3)
    assert _every_count(proto, deployment=north)["occurrences"] == 1
    assert _every_count(proto, deployment=south)["occurrences"] == 2
    queue = api_get(proto, f"/projects/{proto.project_id}/identification-queue")
    assert queue["count"] == 3, queue
    assert len(_occurrence_rows(proto)) == 3
