"""The pull-source forms in Chromium: a person adds an S3 source with its credentials, patterns,
numbers and schedule, finds them stored, changes one field without losing the others (the
credentials above all), and typing mistakes come back named on their fields with what was typed
kept."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, sign_in

pytestmark = pytest.mark.slow

#: What a source's answer holds that a save may change besides the fields typed.
_CLOCKS = ("next_run_at", "updated_at")


def _source(app: App, source_id: int) -> dict[str, Any]:
    answer = app.api("GET", f"/sources/{source_id}")
    assert answer.status_code == 200, answer.text
    return {k: v for k, v in answer.json().items() if k not in _CLOCKS}


def _project_with_a_deployment(app: App, name: str) -> tuple[int, int]:
    project = app.api("POST", "/projects/", json={"name": name, "kind": "light_trap"})
    assert project.status_code == 201, project.text
    project_id = int(project.json()["id"])
    made = app.api(
        "POST", f"/projects/{project_id}/deployments/", json={"name": "Sheet by the boathouse"}
    )
    assert made.status_code == 201, made.text
    return project_id, int(made.json()["id"])


def _save(page: Any, url: str | re.Pattern[str]) -> None:
    """Click the source form's button and wait for the page that answers."""
    with page.expect_navigation(url=url):
        page.click("#source-form button[type=submit]")


def test_a_person_adds_an_s3_source_and_edits_one_field_at_a_time(page: Any, app: App) -> None:
    project_id, deployment_id = _project_with_a_deployment(app, "Moths from the bucket")
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project_id}/sources")
    page.fill("#s-name", "Trap 1 drop")
    page.select_option("#s-kind", "s3")
    page.fill("#s-url", "s3://moth-drop/trap-1")
    page.fill("#s-access_key_id", "AKIAEXAMPLE")
    page.fill("#s-secret_access_key", "wJalrXUtnFEMI/K7MDENG")
    page.fill("#s-include", "*.jpg *.JPG")
    page.fill("#s-exclude", "thumbs/*")
    page.fill("#s-depth", " 2 ")
    page.fill("#s-max-files", "500")
    page.fill("#s-schedule", "*/15 * * * *")
    page.select_option("#s-deployment", str(deployment_id))
    page.uncheck("input[name=enabled]")
    _save(page, re.compile(r".*/sources/\d+$"))
    source_id = int(page.url.rsplit("/", 1)[1])
    made = _source(app, source_id)
    assert made == {
        **made,
        "name": "Trap 1 drop",
        "kind": "s3",
        "url": "s3://moth-drop/trap-1",
        "endpoint_url": None,
        "credentials": {"access_key_id": True, "secret_access_key": True},
        "include": ["*.jpg", "*.JPG"],
        "exclude": ["thumbs/*"],
        "depth": 2,
        "max_files": 500,
        "schedule": "*/15 * * * *",
        "deployment_id": deployment_id,
        "pipeline": None,
        "enabled": False,
    }
    # The settings form shows what is stored, never a secret.
    assert page.input_value("#s-include") == "*.jpg *.JPG"
    assert page.input_value("#s-depth") == "2"
    assert page.input_value("#s-secret_access_key") == ""
    assert "wJalrXUtnFEMI" not in page.content()

    # Changing the schedule alone changes only it: the credentials, left empty, are kept.
    page.fill("#s-schedule", "0 6 * * *")
    _save(page, f"{app.url}/sources/{source_id}")
    assert _source(app, source_id) == {**made, "schedule": "0 6 * * *"}

    # Mistakes are named on their fields; what was typed stays, and nothing is stored.
    page.fill("#s-depth", "eleven")
    page.fill("#s-max-files", "20000")
    page.fill("#s-name", "Trap 1 drop (sheet)")
    _save(page, f"{app.url}/sources/{source_id}")
    assert "depth: a whole number from 0 to 10 (got 'eleven')" in page.inner_text("#depth-error")
    assert "(got '20000')" in page.inner_text("#max_files-error")
    assert page.get_attribute("#s-depth", "aria-invalid") == "true"
    assert (page.input_value("#s-depth"), page.input_value("#s-max-files")) == ("eleven", "20000")
    assert page.input_value("#s-name") == "Trap 1 drop (sheet)"
    assert page.input_value("#s-schedule") == "0 6 * * *"
    assert page.input_value("#s-deployment") == str(deployment_id)
    assert _source(app, source_id) == {**made, "schedule": "0 6 * * *"}

    # The numbers put right, a schedule that is not cron is named in its turn.
    page.fill("#s-depth", "10")
    page.fill("#s-max-files", "2000")
    page.fill("#s-schedule", "every night")
    _save(page, f"{app.url}/sources/{source_id}")
    assert "schedule must be a cron expression" in page.inner_text("#schedule-error")
    assert page.input_value("#s-schedule") == "every night"
    assert (page.input_value("#s-depth"), page.input_value("#s-name")) == (
        "10",
        "Trap 1 drop (sheet)",
    )
    assert _source(app, source_id) == {**made, "schedule": "0 6 * * *"}

    # Put right, the new name, numbers and schedule are stored, and still nothing else changed.
    page.fill("#s-schedule", "30 7 * * 1")
    _save(page, f"{app.url}/sources/{source_id}")
    assert _source(app, source_id) == {
        **made,
        "name": "Trap 1 drop (sheet)",
        "depth": 10,
        "max_files": 2000,
        "schedule": "30 7 * * 1",
    }


def test_a_mistake_on_a_new_source_keeps_what_was_typed(page: Any, app: App) -> None:
    project_id, _ = _project_with_a_deployment(app, "Moths from a station")
    sign_in(page, app)
    sources = f"{app.url}/projects/{project_id}/sources"
    page.goto(sources)
    page.fill("#s-name", "Station on the roof")
    page.fill("#s-url", "ftp://station.example.org/photos/")
    page.fill("#s-include", "*.jpeg")
    _save(page, sources)
    assert "only http and https URLs" in page.inner_text("#url-error")
    assert page.get_attribute("#s-url", "aria-invalid") == "true"
    assert page.input_value("#s-name") == "Station on the roof"
    assert page.input_value("#s-url") == "ftp://station.example.org/photos/"
    assert page.input_value("#s-include") == "*.jpeg"
    assert app.api("GET", f"/projects/{project_id}/sources").json()["count"] == 0

    page.fill("#s-url", "http://127.0.0.1:8081/photos/")
    page.fill("#s-max-files", "0")
    _save(page, sources)
    assert "max_files: a whole number from 1 to" in page.inner_text("#max_files-error")
    assert page.input_value("#s-url") == "http://127.0.0.1:8081/photos/"
    assert app.api("GET", f"/projects/{project_id}/sources").json()["count"] == 0

    page.fill("#s-max-files", "250")
    # (the station is on this machine: the server lets loopback addresses through for the tests)
    _save(page, re.compile(r".*/sources/\d+$"))
    made = _source(app, int(page.url.rsplit("/", 1)[1]))
    assert (made["name"], made["kind"], made["url"]) == (
        "Station on the roof",
        "http_directory",
        "http://127.0.0.1:8081/photos/",
    )
    assert (made["include"], made["max_files"], made["enabled"]) == (["*.jpeg"], 250, True)
