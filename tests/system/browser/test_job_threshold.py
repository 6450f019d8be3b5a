"""A run's own threshold typed into the job form in Chromium against a real ``trapline up
--demo``, at a 1366 x 768 window: choosing moth-blobs names its default (0.5) in the field; a
threshold out of 0 to 1 comes back beside the field and starts nothing; 0.35 starts the job,
whose page shows it."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, offered, ok_json, sign_in
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

WINDOW = {"width": 1366, "height": 768}
#: Milliseconds a job of one photo may take on a loaded machine.
JOB_TIMEOUT_MS = 180_000


def test_a_threshold_typed_into_the_job_form_is_the_runs_own(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project = ok_json(app.api("POST", "/projects/", json={"name": f"Thresholds {run}"}), 201)["id"]
    photo = ("files", ("night.jpg", light_trap_jpeg(seed=90), "image/jpeg"))
    ok_json(app.api("POST", f"/projects/{project}/images/", files=[photo]), 201)
    page.set_viewport_size(WINDOW)
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/jobs")
    offered(page, "#pipeline option[value='moth-blobs']")
    page.select_option("#pipeline", "moth-blobs")
    field = page.get_by_label("Threshold")
    expect(field).to_have_attribute("placeholder", "0.5")
    expect(page.locator("#threshold-default")).to_have_text("the pipeline's own, 0.5")

    field.fill("2")
    page.get_by_role("button", name="Start").click()
    error = page.locator("#threshold-error")
    expect(error).to_have_text("threshold: a number from 0 to 1 (got 2)")
    field = page.get_by_label("Threshold")
    expect(field).to_have_value("2")
    expect(field).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#pipeline")).to_have_value("moth-blobs")
    # Beside the field: under its input, in its column, before the next field.
    box, said = field.bounding_box(), error.bounding_box()
    assert box is not None
    assert said is not None
    assert 0 <= said["y"] - (box["y"] + box["height"]) < 40, (box, said)
    assert abs(said["x"] - box["x"]) < 20, (box, said)
    assert said["y"] < (page.get_by_label("Name").bounding_box() or {"y": 0})["y"]
    assert ok_json(app.api("GET", f"/jobs/?project_id={project}"))["count"] == 0

    field.fill("0.35")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    expect(page.locator("#job-settings")).to_contain_text("Settings of this run: threshold 0.35")
    job = int(page.url.rsplit("/", 1)[1])
    assert ok_json(app.api("GET", f"/jobs/{job}/"))["params"]["settings"] == {"threshold": 0.35}
    page.wait_for_selector("#job-status .status-succeeded", timeout=JOB_TIMEOUT_MS)
