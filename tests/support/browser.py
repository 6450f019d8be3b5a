"""The browser tests' app (a running ``trapline up --demo``), its upload limits, signing in
through the form in Chromium, and the heron burst with its hand-checked boxes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from tests.support.processes import Server
from tests.support.waiting import wait_until


@dataclass
class App:
    """A running server with the demo project, its admin's password and token."""

    server: Server
    password: str
    token: str
    demo_project: int
    #: The folder its built-in worker keeps model weights in.
    weights: Path

    @property
    def url(self) -> str:
        return self.server.url

    def api(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """A call to the API as the admin."""
        headers = {"Authorization": f"Token {self.token}"}
        return httpx.request(
            method, f"{self.url}/api/v2{path}", headers=headers, timeout=60, **kwargs
        )


#: The server's limits for one uploaded file and for one request, in bytes.
UPLOAD_LIMIT = 2 * 1024 * 1024
REQUEST_LIMIT = 3 * 1024 * 1024


def sign_in(
    page: Any, app: App, email: str = "admin@localhost", password: str | None = None
) -> None:
    """Sign in through the form."""
    page.goto(f"{app.url}/signin")
    page.fill("#email", email)
    page.fill("#password", password or app.password)
    page.click("button[type=submit]")
    page.wait_for_url(f"{app.url}/projects")


ROOT = Path(__file__).resolve().parents[2]

PHOTOS = ROOT / "tests" / "data" / "photos" / "camera-trap"

#: The heron's hand-checked box in each photo (fractions: x1, y1, x2, y2).
BOXES: dict[str, list[float]] = json.loads(
    (ROOT / "data" / "ground-truth" / "tracking.json").read_text()
)["heron"]["boxes"]

#: Seconds the occurrences duty (every 5 s) may take to track the burst on a loaded machine.
TRACKING_TIMEOUT = 90.0


def offered(page: Any, selector: str, tries: int = 60) -> None:
    """Reload the page until ``selector`` is on it (a pipeline the embedded worker registers
    with a new project on a timer), a second between tries."""
    for _ in range(tries):
        if page.query_selector(selector):
            return
        page.wait_for_timeout(1000)
        page.reload()
    raise AssertionError(f"{selector} did not appear on {page.url} in {tries} tries")


def ok_json(answer: Any, status: int = 200) -> Any:
    """The JSON of an answer that must have ``status``."""
    assert answer.status_code == status, answer.text
    return answer.json()


def heron_event(app: App, name: str, **place: float) -> tuple[int, int]:
    """A camera-trap project with the burst and its boxes, tracked, its deployment at
    ``place`` (latitude, longitude) if given: the project's and the event's ids."""
    project = ok_json(
        app.api("POST", "/projects/", json={"name": name, "kind": "camera_trap"}), 201
    )
    stream = app.api(
        "POST",
        f"/projects/{project['id']}/deployments/",
        json={"name": "Stream", "time_zone": "Europe/Brussels", **place},
    )
    deployment = ok_json(stream, 201)["id"]
    for photo in sorted(PHOTOS.iterdir()):  # one a request: the test server's limits are small
        files = {"files": (photo.name, photo.read_bytes(), "image/jpeg")}
        data = {"deployment_id": str(deployment)}
        ok_json(app.api("POST", f"/projects/{project['id']}/images/", files=files, data=data), 201)
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [
            {
                "file": f"Stream/{name}",
                "detections": [{"category": "1", "conf": 0.93, "bbox": [x1, y1, x2 - x1, y2 - y1]}],
            }
            for name, (x1, y1, x2, y2) in sorted(BOXES.items())
        ],
    }
    md = {"file": ("md.json", json.dumps(results).encode(), "application/json")}
    imported = app.api(
        "POST",
        f"/projects/{project['id']}/imports/megadetector",
        files=md,
        data={"deployment_id": str(deployment)},
    )
    assert ok_json(imported)["matched"] == len(BOXES)
    (event,) = ok_json(app.api("GET", f"/deployments/{deployment}/events"))["results"]

    def tracked() -> bool:
        found = ok_json(app.api("GET", f"/events/{event['id']}/occurrences"))
        return bool(found["results"])

    wait_until(tracked, "the heron's tracking", timeout=TRACKING_TIMEOUT)
    return int(project["id"]), int(event["id"])
