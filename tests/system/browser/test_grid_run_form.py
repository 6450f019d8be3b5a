"""The image grid's "Run a pipeline on these images" form in Chromium against a real ``trapline
up --demo``, at 1366 x 768: a person filters the grid to one deployment, opens the form, picks
moth-blobs and types a threshold out of range: the jobs page says so beside the field and keeps
the grid's filter as the chosen images; the person types 0.35 there and starts the job, which
runs over that deployment's photos alone, with its own threshold."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, offered, ok_json, sign_in
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

WINDOW = {"width": 1366, "height": 768}


def test_the_grids_run_form_keeps_its_filter_through_a_mistake(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project = ok_json(app.api("POST", "/projects/", json={"name": f"Grid runs {run}"}), 201)["id"]
    trap = ok_json(
        app.api("POST", f"/projects/{project}/deployments/", json={"name": "Trap A"}), 201
    )["id"]
    for n in range(3):
        form = {"deployment_id": str(trap)} if n < 2 else {}
        photo = ("files", (f"night-{n}.jpg", light_trap_jpeg(seed=60 + n), "image/jpeg"))
        ok_json(app.api("POST", f"/projects/{project}/images/", files=[photo], data=form), 201)
    page.set_viewport_size(WINDOW)
    sign_in(page, app)
    grid = f"{app.url}/projects/{project}/images?deployment={trap}"
    page.goto(grid)
    offered(page, "#run-pipeline option[value='moth-blobs']")
    page.get_by_text("Run a pipeline on these 2 images").click()
    page.select_option("#run-pipeline", "moth-blobs")
    page.get_by_label("Threshold").fill("2")
    page.locator("#run-name").fill("Trap A again")
    page.locator("#run-filtered button[type=submit]").click()

    expect(page.locator("#threshold-error")).to_have_text("threshold: a number from 0 to 1 (got 2)")
    expect(page.locator("#scope")).to_have_value("filter")
    expect(page.locator("#job-name")).to_have_value("Trap A again")
    assert ok_json(app.api("GET", f"/jobs/?project_id={project}"))["count"] == 0
    page.get_by_label("Threshold").fill("0.35")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    expect(page.locator("#job-settings")).to_contain_text("threshold 0.35")
    path = f"/jobs/{page.url.rsplit('/', 1)[1]}/"
    job = ok_json(app.api("GET", path))
    assert (job["name"], job["selection"]["filter"]["deployment_id"]) == ("Trap A again", trap)
    # Its tasks are made in the background: the two photos of Trap A, not the third.
    wait_until(
        lambda: ok_json(app.api("GET", path))["counts"]["total"] == 2, timeout=60, what="tasks"
    )
