"""The job form runs a classifier over another pipeline's boxes, in Chromium at 1366 x 768
(issue "The second pass", item 19): with a pipeline that classifies boxes registered, the form
offers "Classify the boxes of"; a pipeline that only detects is refused beside that field; the
labeller's job takes the one photo the test detector found a box on and says so."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, ok_json, sign_in
from tests.support.protocol import detection, pipeline_config, registration, success
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

#: A pipeline that classifies the boxes it is given, as its worker registers it.
LABELLER = {
    "name": "Box labeller",
    "slug": "box-labeller",
    "version": 1,
    "classifies_boxes": True,
    "algorithms": [
        {
            "name": "Moth or not",
            "key": "labeller-cls",
            "task_type": "classification",
            "category_map": {"labels": ["moth", "not a moth"]},
        }
    ],
}


def _detect(app: App, project: int, boxed: int) -> None:
    """A run of the test detector that finds a box on photo ``boxed`` only."""
    made = app.api("POST", "/jobs/", json={"project_id": project, "pipeline": "moth-test"})
    job = ok_json(made, 201)["id"]
    wait_until(
        lambda: app.api("GET", f"/jobs/{job}/").json()["status"] == "running",
        timeout=60,
        what="the job to start",
    )
    tasks = ok_json(app.api("POST", f"/jobs/{job}/tasks/", json={"batch_size": 10}))["tasks"]
    items = [success(t, *([detection(t)] if int(t["image_id"]) == boxed else [])) for t in tasks]
    answer = ok_json(app.api("POST", f"/jobs/{job}/result/", json={"results": items}))
    assert {t["status"] for t in answer["tasks"]} == {"saved"}, answer


def test_the_job_form_classifies_another_pipelines_boxes(page: Any, app: App) -> None:
    project = ok_json(app.api("POST", "/projects/", json={"name": "Labels later"}), 201)["id"]
    photos = [
        (
            "files",
            (
                f"night-{n}.jpg",
                light_trap_jpeg(40 + n, captured_at=datetime(2024, 3, 1, 21, n)),
                "image/jpeg",
            ),
        )
        for n in range(2)
    ]
    boxed, _ = ok_json(app.api("POST", f"/projects/{project}/images/", files=photos), 201)[
        "results"
    ]
    body = registration(pipeline_config(), LABELLER)
    ok_json(app.api("POST", f"/projects/{project}/pipelines/", json=body), 201)
    _detect(app, project, boxed["id"])

    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/jobs")
    expect(page.locator("#boxes-from-hint")).to_contain_text("(box-labeller)")
    page.select_option("#pipeline", "moth-test")
    page.get_by_label("Classify the boxes of").select_option("moth-test")
    page.get_by_role("button", name="Start").click()
    error = page.locator("#boxes_from-error")
    expect(error).to_contain_text("'moth-test' v1 does not classify boxes it is given")
    expect(page.locator("#boxes-from")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#boxes-from")).to_have_value("moth-test")

    page.select_option("#pipeline", "box-labeller")
    page.get_by_role("button", name="Start").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    expect(page.locator("#job-boxes-from")).to_have_text(
        "Classifies the current boxes of moth-test, without detecting."
    )
    job = ok_json(app.api("GET", f"/jobs/{page.url.rsplit('/', 1)[1]}/"))
    assert (job["pipeline_slug"], job["params"]["boxes_from"]) == ("box-labeller", "moth-test")
    wait_until(
        lambda: app.api("GET", f"/jobs/{job['id']}/").json()["counts"]["total"] == 1,
        timeout=60,
        what="the job's one task",
    )
