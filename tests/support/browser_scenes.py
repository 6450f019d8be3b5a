"""Scenes the browser tests make through the API of a real server."""

from __future__ import annotations

import io
import json
from datetime import datetime, timedelta

import numpy as np

from tests.support.browser import App, ok_json
from tests.support.evaluation_scene import POND_TAXA
from tests.support.photos import kept_jpeg
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, registration, success
from tests.support.refit_scene import NIGHT_TAXA, NIGHTS, night_photo, night_taxon, night_vector
from tests.support.scenes import T0, TAXA_CSV
from tests.support.waiting import wait_until

#: Seconds the occurrences duty (every 5 s) may take to track the photo on a loaded machine.
TRACKING_TIMEOUT = 90.0
#: Milliseconds a picker's suggestions may take to come on a loaded machine.
SUGGESTION_MS = 15_000
#: Six boxes far apart on the photo (relative x, y, w, h), four animals then two people, each
#: surer than the one before (the identify page lists the least sure first).
BOXES = [
    {"category": "1" if n < 4 else "2", "conf": 0.6 + n / 20,
     "bbox": [0.05 + 0.3 * (n % 3), 0.1 + 0.5 * (n // 3), 0.1, 0.1]}
    for n in range(6)
]  # fmt: skip


def six(app: App, name: str, kind: str = "other") -> tuple[int, int, list[int]]:
    """A project (of that kind) with the taxa list and one photo of six individuals as
    MegaDetector boxes, tracked: the project, its event and the occurrences."""
    made = app.api("POST", "/projects/", json={"name": name, "kind": kind})
    project = ok_json(made, 201)["id"]
    taxa = {"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    pond = ok_json(
        app.api("POST", f"/projects/{project}/deployments/", json={"name": "Pond"}), 201
    )["id"]
    photo = kept_jpeg(11, captured_at=datetime(2024, 3, 1, 21, 30))
    ok_json(
        app.api(
            "POST",
            f"/projects/{project}/images/",
            files=[("files", ("night.jpg", photo, "image/jpeg"))],
            data={"deployment_id": str(pond)},
        ),
        201,
    )
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal", "2": "person"},
        "images": [{"file": "Pond/night.jpg", "detections": BOXES}],
    }
    md = {"file": ("md.json", io.BytesIO(json.dumps(results).encode()), "application/json")}
    ok_json(app.api("POST", f"/projects/{project}/imports/megadetector", files=md))
    event, found = wait_until(
        lambda: _tracked(app, pond), timeout=TRACKING_TIMEOUT, what="the photo's tracking"
    )
    return project, event, found


def _tracked(app: App, pond: int) -> tuple[int, list[int]] | None:
    events = ok_json(app.api("GET", f"/deployments/{pond}/events"))["results"]
    if not events or events[0]["occurrences_pending"]:
        return None
    found = ok_json(app.api("GET", f"/events/{events[0]['id']}/occurrences"))["results"]
    return (events[0]["id"], [o["id"] for o in found]) if len(found) == 6 else None


def refit_nights(app: App, name: str, *, crops: bool = False) -> tuple[int, list[int]]:
    """A project with the refit scene's nine nights (``refit_scene.py``): a photo a night, the
    test pipeline's detection on each with its vector (with ``crops``: on the night's coloured
    moth, without a vector), tracked; the project and the detections by night."""
    project = ok_json(app.api("POST", "/projects/", json={"name": name}), 201)["id"]
    taxa = {"file": ("taxa.csv", io.BytesIO(POND_TAXA.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    body = {"name": "Sheet", "time_zone": "UTC"}
    sheet = ok_json(app.api("POST", f"/projects/{project}/deployments/", json=body), 201)["id"]
    photos, boxes_drawn = [], []
    for night in range(NIGHTS):  # one a request: the test server's limits are small
        if crops:
            jpeg, drawn = night_photo(night)
            boxes_drawn.append(drawn)
        else:
            jpeg = kept_jpeg(
                7, width=160, height=120, captured_at=T0 + timedelta(days=night), quality=80 + night
            )
        made = app.api(
            "POST",
            f"/projects/{project}/images/",
            files=[("files", (f"night-{night}.jpg", jpeg, "image/jpeg"))],
            data={"deployment_id": str(sheet)},
        )
        photos.append(int(ok_json(made, 201)["results"][0]["id"]))
    registered = app.api(
        "POST", f"/projects/{project}/pipelines/", json=registration(pipeline_config())
    )
    ok_json(registered, 201)
    asked = {"project_id": project, "pipeline": PIPELINE_SLUG, "params": {"max_attempts": 1}}
    job = ok_json(app.api("POST", "/jobs/", json=asked), 201)["id"]
    wait_until(
        lambda: app.api("GET", f"/jobs/{job}/").json()["status"] == "running",
        timeout=60,
        what="the job to start",
    )
    tasks = ok_json(app.api("POST", f"/jobs/{job}/tasks/", json={"batch_size": 20}))["tasks"]
    by_image = {int(t["image_id"]): t for t in tasks}
    rng = np.random.default_rng(5)
    items = []
    for night, image in enumerate(photos):
        if crops:
            found = detection(by_image[image], bbox=boxes_drawn[night])
        else:
            found = detection(by_image[image])
            found["classifications"][0]["features"] = night_vector(night, rng)
        items.append(success(by_image[image], found))
    answer = ok_json(app.api("POST", f"/jobs/{job}/result/", json={"results": items}))
    assert {t["status"] for t in answer["tasks"]} == {"saved"}, answer
    wait_until(
        lambda: _all_tracked(app, sheet), timeout=TRACKING_TIMEOUT, what="the nights' tracking"
    )
    boxes = ok_json(
        app.api(
            "GET",
            f"/projects/{project}/annotations",
            params={"type": "bounding_box", "limit": 100},
        )
    )["results"]
    by_photo = {int(b["image_id"]): int(b["id"]) for b in boxes}
    return project, [by_photo[p] for p in photos]


def identify_nights(app: App, project: int, detections: list[int], nights: range) -> None:
    """Each night's moth of ``nights`` identified as ``refit_scene.night_taxon`` says."""
    taxa = {}
    for name in NIGHT_TAXA:
        found = ok_json(app.api("GET", f"/projects/{project}/taxa/search", params={"q": name}))
        (taxa[name],) = [t["id"] for t in found if t["scientific_name"] == name]
    for night in nights:
        body = {"taxon_id": taxa[night_taxon(night)]}
        path = f"/annotations/{detections[night]}/identifications"
        ok_json(app.api("POST", path, json=body), 201)


def _all_tracked(app: App, sheet: int) -> bool:
    events = ok_json(app.api("GET", f"/deployments/{sheet}/events", params={"limit": 100}))
    found = events["results"]
    return len(found) == NIGHTS and not any(e["occurrences_pending"] for e in found)
