"""A camera-trap person in Chromium: the job form offers MegaDetector, chosen, and says it needs
its weights (the server's weights folder is empty; nothing is downloaded) with the way to make
it ready, and refuses to start it; then MegaDetector results made elsewhere, for the vendored
heron burst, are imported from the import page, which says what matched and what did not, and
the heron is tracked on the event's page and counted on the species page."""

from __future__ import annotations

import io
import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, ok_json, sign_in
from tests.support.scenes import TAXA_CSV
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "data" / "photos" / "camera-trap"
#: The heron's hand-checked box in each photo (fractions: x1, y1, x2, y2).
BOXES = json.loads((ROOT / "data" / "ground-truth" / "tracking.json").read_text())["heron"]["boxes"]
#: Seconds the occurrences duty (every 5 s) may take to track the burst on a loaded machine.
TRACKING_TIMEOUT = 90.0


def _camera_trap(app: App, name: str) -> tuple[int, int]:
    """A camera-trap project with the taxa list and a deployment: the project and deployment."""
    made = app.api("POST", "/projects/", json={"name": name, "kind": "camera_trap"})
    project = ok_json(made, 201)["id"]
    taxa = {"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    stream = app.api(
        "POST",
        f"/projects/{project}/deployments/",
        json={"name": "Stream", "time_zone": "Europe/Brussels"},
    )
    return project, ok_json(stream, 201)["id"]


def _serious_problems(page: Any) -> list[tuple[str, list[Any]]]:
    """What axe-core finds serious or critical on the page as it stands."""
    from axe_playwright_python.sync_playwright import Axe

    page.wait_for_load_state("networkidle")
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in Axe().run(page).response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _screenshot(page: Any, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1366, "height": 768})
    page.screenshot(path=str(folder / f"web-{name}.png"), full_page=True)


def test_the_job_form_offers_megadetector_and_says_it_needs_its_weights(
    page: Any, app: App, request: Any, tmp_path: Path
) -> None:
    run = request.node.callspec.id
    shots = Path(os.environ.get("TRAPLINE_SCREENSHOTS") or tmp_path)
    project, _ = _camera_trap(app, f"Stream cameras {run}")
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}")
    page.get_by_role("link", name="Jobs", exact=True).click()
    picker = page.locator("#pipeline")
    expect(picker).to_have_value("megadetector")
    expect(picker.locator("option:checked")).to_have_text("MegaDetector v5a — not ready")
    note = page.locator('.pipeline-note[data-pipeline="megadetector"]')
    expect(note).to_contain_text("MegaDetector v5a needs its weights")
    expect(note).to_contain_text(f"put them in {app.weights}")
    expect(picker).to_have_attribute("aria-describedby", re.compile(note.get_attribute("id")))

    if run == "sqlite":
        _screenshot(page, shots, "job-form-megadetector")

    # Started as it is, it is refused in words, and no job is made.
    page.fill("#job-name", "Heron burst")
    page.click("#start-job button[type=submit]")
    error = page.locator("#pipeline-error")
    expect(error).to_contain_text("pipeline: not started. MegaDetector v5a needs its weights")
    expect(page.locator("#job-name")).to_have_value("Heron burst")
    assert ok_json(app.api("GET", "/jobs/", params={"project_id": project}))["count"] == 0
    assert _serious_problems(page) == []

    # The way to make it ready is one click away.
    page.locator('.pipeline-note[data-pipeline="megadetector"]').get_by_role(
        "link", name=re.compile("how to make it ready")
    ).click()
    page.wait_for_url(f"{app.url}/projects/{project}/processing")
    row = page.locator('#builtin-pipelines tr[data-slug="megadetector"]')
    expect(row).to_have_attribute("data-state", "needs_weights")
    assert not app.weights.exists() or not any(app.weights.iterdir())  # nothing downloaded


def test_a_person_imports_megadetector_results_and_finds_the_heron(
    page: Any, app: App, request: Any, tmp_path: Path
) -> None:
    run = request.node.callspec.id
    shots = Path(os.environ.get("TRAPLINE_SCREENSHOTS") or tmp_path)
    project, stream = _camera_trap(app, f"Heron stream {run}")
    for photo in sorted(PHOTOS.iterdir()):  # one a request: the test server's limits are small
        files = {"files": (photo.name, photo.read_bytes(), "image/jpeg")}
        data = {"deployment_id": str(stream)}
        ok_json(app.api("POST", f"/projects/{project}/images/", files=files, data=data), 201)
    results = {
        "info": {
            "format_version": "1.4",
            "detector": "md_v5a.0.0.pt",
            "classifier": "species classifier",
        },
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": {"1": "Ardea cinerea"},
        "images": [
            {
                "file": f"Stream/{name}",
                "detections": [
                    {
                        "category": "1",
                        "conf": 0.93,
                        "bbox": [x1, y1, round(x2 - x1, 4), round(y2 - y1, 4)],
                        "classifications": [["1", 0.88]],
                    }
                ],
            }
            for name, (x1, y1, x2, y2) in sorted(BOXES.items())
        ]
        + [{"file": "Stream/RCNX0099.JPG", "detections": []}],
    }
    md = tmp_path / "md-results.json"
    md.write_text(json.dumps(results))

    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}")
    page.get_by_role("link", name="Import them").click()
    page.wait_for_url(f"{app.url}/projects/{project}/imports/megadetector")
    page.set_input_files("#md-file", str(md))
    page.select_option("#md-deployment", label="Stream")
    page.fill("#md-threshold", "0,2")
    if run == "sqlite":
        _screenshot(page, shots, "megadetector-import-form")
    page.get_by_role("button", name="Import", exact=True).click()

    report = page.locator("#import-report")
    expect(report.get_by_role("status")).to_have_text(
        "10 of 11 images in the file matched a photo of the project; 10 detections stored on "
        "10 photos."
    )
    expect(report.locator('[data-count="unmatched"]')).to_have_text("1")
    unmatched = report.locator("#unmatched tbody tr")
    expect(unmatched).to_have_count(1)
    expect(unmatched.first).to_contain_text("Stream/RCNX0099.JPG")
    expect(unmatched.first).to_contain_text("no image of deployment")
    events = report.locator("#import-events tbody tr")
    expect(events).to_have_count(1)  # one sequence: the burst spans seven seconds
    expect(events.first).to_contain_text("2021-04-11 20:43:09 +02:00")
    expect(events.first.locator("td.num")).to_have_text("10")
    if run == "sqlite":
        _screenshot(page, shots, "megadetector-import-report")
    assert _serious_problems(page) == []

    # The event's page shows the heron once the occurrences duty has tracked it.
    events.first.get_by_role("link").first.click()
    page.wait_for_url(re.compile(r".*/events/\d+$"))

    def tracked() -> bool:
        page.reload()
        return page.locator("#event-occurrences").count() == 1

    wait_until(tracked, "the heron's tracking", timeout=TRACKING_TIMEOUT)
    occurrences = page.locator("#event-occurrences tbody tr")
    expect(occurrences).to_have_count(1)
    expect(occurrences.first).to_contain_text("Ardea cinerea")

    page.goto(f"{app.url}/projects/{project}/species")
    row = page.locator("#species tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text("Ardea cinerea")
    assert row.locator("td.num").all_inner_texts() == ["1", "10", "1"]
