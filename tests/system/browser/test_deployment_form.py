"""The deployment form in Chromium: a person types a place, times and a zone, saves, edits one
field, and a typing mistake comes back named with what was typed kept."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, sign_in

pytestmark = pytest.mark.slow


def _deployment(app: App, deployment_id: int) -> dict[str, Any]:
    answer = app.api("GET", f"/deployments/{deployment_id}/")
    assert answer.status_code == 200, answer.text
    return dict(answer.json())


def test_a_person_adds_and_edits_a_deployment_with_its_place(page: Any, app: App) -> None:
    sign_in(page, app)
    project = app.api("POST", "/projects/", json={"name": "Lake moths"}).json()["id"]
    page.goto(f"{app.url}/projects/{project}/deployments")
    page.fill("#d-name", "Sheet by the boathouse")
    page.fill("#d-description", "Mercury lamp, white sheet")
    page.fill("#d-latitude", "44.4759")
    page.fill("#d-longitude", "-73.2121")
    page.fill("#d-start", "2024-06-21T20:00")
    page.fill("#d-end", "2024-06-22T06:30")
    page.fill("#d-zone", "America/New_York")
    page.click("text=Add deployment")
    page.wait_for_url(re.compile(r".*/deployments/\d+$"))
    deployment_id = int(page.url.rsplit("/", 1)[1])
    made = _deployment(app, deployment_id)
    assert (made["latitude"], made["longitude"]) == (44.4759, -73.2121)
    assert (made["started_at"], made["ended_at"]) == ("2024-06-21T20:00:00", "2024-06-22T06:30:00")
    assert made["time_zone"] == "America/New_York"

    # The edit form shows what is stored; changing the longitude (with a decimal comma, as
    # many people write it) changes only that.
    assert page.input_value("#d-latitude") == "44.4759"
    page.fill("#d-longitude", "-73,25")
    page.click("button:text('Save')")
    page.wait_for_url(f"{app.url}/deployments/{deployment_id}")
    assert _deployment(app, deployment_id) == {**made, "longitude": -73.25}

    # A mistake is named on its field; what the person typed in the others stays.
    page.fill("#d-latitude", "444.759")
    page.fill("#d-name", "Sheet by the old boathouse")
    page.click("button:text('Save')")
    error = page.locator("#latitude-error")
    assert "latitude: a number from -90 to 90 (got '444.759')" in error.inner_text()
    assert page.get_attribute("#d-latitude", "aria-invalid") == "true"
    assert page.input_value("#d-latitude") == "444.759"
    assert page.input_value("#d-name") == "Sheet by the old boathouse"
    assert _deployment(app, deployment_id) == {**made, "longitude": -73.25}
    page.fill("#d-latitude", "44.48")
    page.click("button:text('Save')")
    page.wait_for_url(f"{app.url}/deployments/{deployment_id}")
    assert _deployment(app, deployment_id) == {
        **made,
        "name": "Sheet by the old boathouse",
        "latitude": 44.48,
        "longitude": -73.25,
    }


def test_a_person_says_the_camera_keeps_standard_time_and_takes_it_back(
    page: Any, app: App
) -> None:
    sign_in(page, app)
    project = app.api("POST", "/projects/", json={"name": "Pond herons"}).json()["id"]
    page.goto(f"{app.url}/projects/{project}/deployments")
    page.fill("#d-name", "Heron pond")
    page.fill("#d-zone", "Europe/Berlin")
    page.check("#d-standard-time")
    page.click("text=Add deployment")
    page.wait_for_url(re.compile(r".*/deployments/\d+$"))
    deployment_id = int(page.url.rsplit("/", 1)[1])
    made = _deployment(app, deployment_id)
    assert (made["time_zone"], made["standard_time"]) == ("Europe/Berlin", True)
    assert page.is_checked("#d-standard-time")

    # Editing another field leaves the box as it is, and so the stored value.
    page.fill("#d-description", "Camera on the alder")
    with page.expect_navigation(url=f"{app.url}/deployments/{deployment_id}"):
        page.click("button:text('Save')")  # the same address: wait for the new page
    assert _deployment(app, deployment_id) == {**made, "description": "Camera on the alder"}
    assert page.is_checked("#d-standard-time")

    page.uncheck("#d-standard-time")
    with page.expect_navigation(url=f"{app.url}/deployments/{deployment_id}"):
        page.click("button:text('Save')")  # the same address: wait for the new page
    assert _deployment(app, deployment_id)["standard_time"] is False
    assert not page.is_checked("#d-standard-time")


def test_the_deployment_form_fits_a_1366_pixel_screen(chromium: Any, app: App) -> None:
    project = app.api("POST", "/projects/", json={"name": "Narrow screens"}).json()["id"]
    made = app.api(
        "POST",
        f"/projects/{project}/deployments/",
        json={"name": "Heron pond", "latitude": 50.85, "longitude": 4.35},
    )
    assert made.status_code == 201, made.text
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    try:
        page = context.new_page()
        sign_in(page, app)
        for path in (f"/projects/{project}/deployments", f"/deployments/{made.json()['id']}"):
            page.goto(f"{app.url}{path}")
            form = page.locator("form:has(#d-zone)")
            box = form.bounding_box()
            assert box["x"] >= 0, (path, box)
            assert box["x"] + box["width"] <= 1366, (path, box)
            widths = page.evaluate(
                "() => [document.documentElement.scrollWidth, document.documentElement.clientWidth]"
            )
            assert widths[0] <= widths[1], (path, widths)
    finally:
        context.close()
