"""An event's filmstrip in Chromium at 1366x768, with the vendored heron burst and its
hand-checked boxes imported as MegaDetector results: the strip stays within the page, and each
photo's tracked box is drawn on the heron, where the image viewer draws it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.browser import App, sign_in
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "data" / "photos" / "camera-trap"
#: The heron's hand-checked box in each photo (fractions: x1, y1, x2, y2).
BOXES: dict[str, list[float]] = json.loads(
    (ROOT / "data" / "ground-truth" / "tracking.json").read_text()
)["heron"]["boxes"]
#: Seconds the occurrences duty (every 5 s) may take to track the burst on a loaded machine.
TRACKING_TIMEOUT = 90.0
#: Pixels a drawn box may be off its place on the rendered photo (Chromium's box of an SVG
#: rectangle takes in half its 2 px stroke on each side).
TOLERANCE = 3.0


def _ok(answer: Any, status: int = 200) -> Any:
    assert answer.status_code == status, answer.text
    return answer.json()


def heron_event(app: App, name: str, **place: float) -> tuple[int, int]:
    """A camera-trap project with the burst and its boxes, tracked, its deployment at
    ``place`` (latitude, longitude) if given: the project's and the event's ids."""
    project = _ok(app.api("POST", "/projects/", json={"name": name, "kind": "camera_trap"}), 201)
    stream = app.api(
        "POST",
        f"/projects/{project['id']}/deployments/",
        json={"name": "Stream", "time_zone": "Europe/Brussels", **place},
    )
    deployment = _ok(stream, 201)["id"]
    for photo in sorted(PHOTOS.iterdir()):  # one a request: the test server's limits are small
        files = {"files": (photo.name, photo.read_bytes(), "image/jpeg")}
        data = {"deployment_id": str(deployment)}
        _ok(app.api("POST", f"/projects/{project['id']}/images/", files=files, data=data), 201)
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
    assert _ok(imported)["matched"] == len(BOXES)
    (event,) = _ok(app.api("GET", f"/deployments/{deployment}/events"))["results"]

    def tracked() -> bool:
        found = _ok(app.api("GET", f"/events/{event['id']}/occurrences"))
        return bool(found["results"])

    wait_until(tracked, "the heron's tracking", timeout=TRACKING_TIMEOUT)
    return int(project["id"]), int(event["id"])


def test_the_filmstrip_fits_the_page_and_draws_each_box_on_the_heron(
    chromium: Any, app: App, request: Any
) -> None:
    _, event = heron_event(app, f"Filmstrip herons {request.node.callspec.id}")
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        sign_in(page, app)
        page.goto(f"{app.url}/events/{event}")
        strip = page.locator("ol.filmstrip")
        frames = strip.locator("li")
        assert frames.count() == len(BOXES)
        widths = strip.evaluate(
            "s => [s.scrollWidth, s.clientWidth, s.getBoundingClientRect().right,"
            " document.documentElement.scrollWidth]"
        )
        scroll_width, client_width, right, page_width = widths
        assert scroll_width <= client_width, widths
        assert right <= 1366, widths
        assert page_width <= 1366, widths

        for n, name in enumerate(sorted(BOXES)):
            frame = frames.nth(n)
            image = frame.locator("img")
            assert image.get_attribute("alt") == name
            image.scroll_into_view_if_needed()
            image.evaluate(
                "i => i.complete ? i.decode() : new Promise(r => i.addEventListener('load', r))"
            )
            photo = image.bounding_box()
            drawn = frame.locator("svg.boxes rect").bounding_box()
            x1, y1, x2, y2 = BOXES[name]
            expected = {
                "x": photo["x"] + x1 * photo["width"],
                "y": photo["y"] + y1 * photo["height"],
                "width": (x2 - x1) * photo["width"],
                "height": (y2 - y1) * photo["height"],
            }
            for side, want in expected.items():
                assert abs(drawn[side] - want) <= TOLERANCE, (name, side, drawn, expected)
    finally:
        context.close()
