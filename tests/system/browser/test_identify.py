"""Identifying in Chromium against a real ``trapline up --demo``: a heron tracked over three
frames of a project of its own, identified with the taxon picker (typed, picked with the
keyboard), agreed with by a second person, and counted on the species page; axe-core finds no
serious problem on the pages of taxa."""

from __future__ import annotations

import io
import json
import os
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, ok_json, sign_in
from tests.support.scenes import TAXA_CSV
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

#: Seconds the occurrences duty (every 5 s) may take to track the frames on a loaded machine.
TRACKING_TIMEOUT = 90.0
T0 = datetime(2024, 3, 1, 21, 30)
#: Milliseconds a picker's suggestions may take to come on a loaded machine.
SUGGESTION_MS = 15_000


def _heron_project(app: App, name: str) -> tuple[int, int]:
    """A project with the taxa list, three frames of one heron as MegaDetector boxes, tracked:
    the project and the heron's occurrence."""
    project = ok_json(app.api("POST", "/projects/", json={"name": name}), 201)["id"]
    taxa = {"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    pond = ok_json(
        app.api(
            "POST",
            f"/projects/{project}/deployments/",
            json={"name": "Pond", "time_zone": "Africa/Dar_es_Salaam"},
        ),
        201,
    )["id"]
    frames = [
        (
            "files",
            (
                f"frame-{n}.jpg",
                light_trap_jpeg(7, captured_at=T0 + timedelta(seconds=n), quality=80 + n),
                "image/jpeg",
            ),
        )
        for n in range(3)
    ]
    ok_json(
        app.api(
            "POST", f"/projects/{project}/images/", files=frames, data={"deployment_id": str(pond)}
        ),
        201,
    )
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt"},
        "detection_categories": {"1": "animal"},
        "images": [
            {"file": f"Pond/frame-{n}.jpg",
             "detections": [{"category": "1", "conf": 0.9, "bbox": [0.2 + n / 100, 0.3, 0.2, 0.3]}]}
            for n in range(3)
        ],
    }  # fmt: skip
    md = {"file": ("md.json", io.BytesIO(json.dumps(results).encode()), "application/json")}
    ok_json(app.api("POST", f"/projects/{project}/imports/megadetector", files=md))
    occurrence = wait_until(
        lambda: _tracked(app, pond), timeout=TRACKING_TIMEOUT, what="the frames' tracking"
    )
    return project, occurrence


def _tracked(app: App, pond: int) -> int | None:
    """The pond's one occurrence, once its event's tracking is done."""
    events = ok_json(app.api("GET", f"/deployments/{pond}/events"))["results"]
    if not events or events[0]["occurrences_pending"]:
        return None
    found = ok_json(app.api("GET", f"/events/{events[0]['id']}/occurrences"))["results"]
    if not found:
        return None
    (occurrence,) = found
    return int(occurrence["id"])


def _member(app: App, project: int, email: str) -> str:
    """A new person, a member of ``project``: their password."""
    made = ok_json(app.api("POST", "/users/", json={"email": email, "name": "Ann"}), 201)
    password = ok_json(app.api("POST", f"/users/{made['id']}/password"), 201)["password"]
    added = app.api(
        "POST", f"/projects/{project}/members/", json={"email": email, "role": "member"}
    )
    assert added.status_code in (200, 201), added.text
    return str(password)


def _screenshot(page: Any, folder: Path, name: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"web-{name}.png"), full_page=True)


def test_a_heron_is_identified_with_the_picker_and_agreed_with(
    chromium: Any, page: Any, app: App, request: Any, tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    run = request.node.callspec.id
    # As the other browser tests: docs/images when TRAPLINE_SCREENSHOTS names it.
    shots = Path(os.environ.get("TRAPLINE_SCREENSHOTS") or tmp_path)
    project, occurrence = _heron_project(app, f"Herons {run}")
    sign_in(page, app)
    page.goto(f"{app.url}/occurrences/{occurrence}")
    picker = page.get_by_role("combobox", name=re.compile("Taxon"))
    picker.press_sequentially("ardea c", delay=30)
    option = page.get_by_role("option", name=re.compile(r"^Ardea cinerea \(species\)"))
    # Only once the answer for all seven letters is in (an earlier one names Ardea's genus too).
    expect(page.get_by_role("option")).to_have_count(1, timeout=SUGGESTION_MS)
    expect(option).to_be_visible()
    expect(picker).to_have_attribute("aria-expanded", "true")
    picker.press("ArrowDown")
    expect(option).to_have_attribute("aria-selected", "true")
    picker.press("Enter")  # picks the suggestion, sends nothing yet
    expect(picker).to_have_value("Ardea cinerea (species)")
    expect(page.get_by_role("listbox")).to_be_hidden()
    page.fill("#identify-comment", "grey neck, black crest")
    page.get_by_role("button", name="Identify", exact=True).click()
    page.wait_for_url(re.compile(rf"/occurrences/{occurrence}#identification$"))
    expect(page.locator("#determination")).to_contain_text("Ardea cinerea")
    expect(page.locator("#identifications")).to_contain_text("grey neck, black crest")
    if run == "sqlite":
        _screenshot(page, shots, "identify")

    axe = Axe()
    problems = {}
    for path in (
        f"/occurrences/{occurrence}",
        f"/projects/{project}/taxa",
        f"/projects/{project}/labels",
        f"/projects/{project}/species",
        f"/projects/{project}/identify",
    ):
        page.goto(f"{app.url}{path}")
        if path.endswith("/taxa") and run == "sqlite":
            _screenshot(page, shots, "taxa")
        if path.endswith("/labels"):  # with a listbox of suggestions open
            page.get_by_role("combobox").first.press_sequentially("ard", delay=30)
            expect(page.get_by_role("option")).to_have_count(4, timeout=SUGGESTION_MS)
            if run == "sqlite":
                _screenshot(page, shots, "labels")
        page.wait_for_load_state("networkidle")
        serious = [
            (v["id"], [n["target"] for n in v["nodes"]][:3])
            for v in axe.run(page).response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[path] = serious
    assert problems == {}

    # A second person agrees, in a browser of their own.
    email = f"ann-identify-{run}@example.org"
    password = _member(app, project, email)
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    try:
        other = context.new_page()
        sign_in(other, app, email, password)
        other.goto(f"{app.url}/occurrences/{occurrence}")
        other.get_by_role("button", name=re.compile(r"^Agree with (?!the model)")).click()
        other.wait_for_url(re.compile(rf"/occurrences/{occurrence}#identification$"))
        expect(other.locator("#identifications li")).to_have_count(2)
        expect(other.locator("#identifications li").nth(1)).to_contain_text("agreeing with")
        expect(other.locator("#disputed")).to_have_count(0)
    finally:
        context.close()
    history = ok_json(app.api("GET", f"/occurrences/{occurrence}/identifications"))
    assert [(i["user"], i["taxon"]["scientific_name"]) for i in history][1][1] == "Ardea cinerea"
    assert history[1]["agreed_with"] == str(history[0]["id"])

    page.goto(f"{app.url}/projects/{project}/species")
    if run == "sqlite":
        _screenshot(page, shots, "species")
    row = page.locator("#species tbody tr").first
    expect(row.locator("td").nth(1)).to_have_text("Ardea cinerea")
    cells = row.locator("td.num").all_inner_texts()
    assert cells == ["1", "3", "1"]  # occurrences, detections, deployments
    row.get_by_role("link", name="Ardea cinerea", exact=True).click()
    expect(page.locator("#phenology rect.bar")).to_have_count(1)
    expect(page.locator("#activity rect.bar")).to_have_count(24)
    if run == "sqlite":
        _screenshot(page, shots, "taxon")
