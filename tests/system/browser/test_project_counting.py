"""A project's kind on the new-project form, and its event rule and counting pipeline on its
page, in Chromium, as a person sets them."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, sign_in
from tests.support.protocol import pipeline_config, registration

pytestmark = pytest.mark.slow


def _project(app: App, project_id: int) -> dict[str, Any]:
    answer = app.api("GET", f"/projects/{project_id}/")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_camera_trap_project_counts_by_sequence_and_its_rule_can_change(
    page: Any, app: App
) -> None:
    sign_in(page, app)
    page.goto(f"{app.url}/projects")
    page.fill("#name", "Heron stream")
    # The form makes a person choose what the project records.
    assert page.input_value("#kind") == ""
    page.select_option("#kind", "camera_trap")
    page.click("text=Create project")
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    project_id = int(page.url.rsplit("/", 1)[1])
    made = _project(app, project_id)
    assert (made["kind"], made["event_rule"], made["event_gap_seconds"]) == (
        "camera_trap",
        "sequence",
        60,
    )
    assert "sequence (a gap over 60 s starts a new one)" in page.inner_text("#counting + p")

    # A typing mistake is named on its field, and what was typed stays.
    page.fill("#p-gap", "ninety")
    page.click("text=Save and regroup the photos")
    assert "gap_seconds: a whole number" in page.inner_text("#gap_seconds-error")
    assert page.input_value("#p-gap") == "ninety"
    page.fill("#p-gap", "90")
    page.click("text=Save and regroup the photos")
    page.wait_for_url(re.compile(rf".*/projects/{project_id}#counting$"))
    assert (
        _project(app, project_id)["event_rule"],
        _project(app, project_id)["event_gap_seconds"],
    ) == (
        "sequence",
        90,
    )
    page.select_option("#p-rule", "night")
    page.click("text=Save and regroup the photos")
    page.wait_for_url(re.compile(rf".*/projects/{project_id}#counting$"))
    assert _project(app, project_id)["event_rule"] == "night"
    assert page.input_value("#p-rule") == "night"

    # Counting by the pipeline with the most tracked detections is the default; the form
    # offers the project's pipelines.
    body = registration(pipeline_config(slug="heron-detector"))
    assert app.api("POST", f"/projects/{project_id}/pipelines/", json=body).status_code == 201
    page.reload()
    assert page.input_value("#p-counting") == ""
    offered = page.eval_on_selector_all("#p-counting option", "os => os.map(o => o.value)")
    assert "heron-detector" in offered
    page.select_option("#p-counting", "heron-detector")
    page.click("text=Save what counts")
    page.wait_for_url(re.compile(rf".*/projects/{project_id}#counting$"))
    assert _project(app, project_id)["counting_pipeline"] == "heron-detector"
    assert page.input_value("#p-counting") == "heron-detector"
