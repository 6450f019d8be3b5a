"""A photo a pipeline ran on twice, in Chromium (1366 by 768): the viewer draws and lists the
current run's boxes, lists the older run by pipeline, version and date, and draws that run's
boxes only while a person ticks "Older runs' boxes"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from tests.support.browser import App, ok_json, sign_in
from tests.support.protocol import detection, pipeline_config, registration, success
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow


def _run(app: App, project: int, boxes: list[tuple[float, float, float, float]]) -> None:
    """A job of the test pipeline over the project's photo, its result posted as a worker
    posts it."""
    made = app.api(
        "POST",
        "/jobs/",
        json={"project_id": project, "pipeline": "moth-test", "params": {"reprocess": True}},
    )
    job = ok_json(made, 201)["id"]
    wait_until(
        lambda: app.api("GET", f"/jobs/{job}/").json()["status"] == "running",
        timeout=60,
        what="the job to start",
    )
    claimed = ok_json(app.api("POST", f"/jobs/{job}/tasks/", json={"batch_size": 10}))
    (task,) = claimed["tasks"]
    item = success(task, *(detection(task, bbox=b) for b in boxes))
    answer = ok_json(app.api("POST", f"/jobs/{job}/result/", json={"results": [item]}))
    assert [t["status"] for t in answer["tasks"]] == ["saved"], answer


def test_the_viewer_shows_the_current_run_and_older_runs_on_request(page: Any, app: App) -> None:
    project = ok_json(app.api("POST", "/projects/", json={"name": "Run twice"}), 201)["id"]
    photo = light_trap_jpeg(12, captured_at=datetime(2024, 3, 1, 21, 30))
    (image,) = ok_json(
        app.api(
            "POST",
            f"/projects/{project}/images/",
            files=[("files", ("night.jpg", photo, "image/jpeg"))],
        ),
        201,
    )["results"]
    ok_json(
        app.api("POST", f"/projects/{project}/pipelines/", json=registration(pipeline_config())),
        201,
    )
    _run(app, project, [(10, 10, 60, 60), (80, 10, 130, 60)])
    _run(app, project, [(40, 40, 90, 90)])

    page.set_viewport_size({"width": 1366, "height": 768})
    sign_in(page, app)
    page.goto(f"{app.url}/images/{image['id']}")
    assert page.locator(".annotations .annotation").count() == 1  # the current run's box
    older = page.locator(".det.older")
    assert older.count() == 2
    assert not any(older.nth(n).is_visible() for n in range(2))
    page.click("#older-runs summary")
    listed = page.inner_text("#older-runs")
    assert "moth-test v1" in listed, listed
    assert "2 detections" in listed, listed
    page.check("#toggle-older")
    assert all(older.nth(n).is_visible() for n in range(2))
    page.uncheck("#toggle-older")
    assert not older.first.is_visible()
