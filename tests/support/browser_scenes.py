"""Scenes the browser tests make through the API of a real server."""

from __future__ import annotations

import io
import json
from datetime import datetime

from tests.support.browser import App, ok_json
from tests.support.scenes import TAXA_CSV
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

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
    photo = light_trap_jpeg(11, captured_at=datetime(2024, 3, 1, 21, 30))
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
