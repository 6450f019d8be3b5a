"""Re-running from the job form in Chromium against a real ``trapline up --demo``, at a
1366 x 768 window: moth-blobs runs over a new project's three photos; the form then says all
three were analysed by moth-blobs (naming its version), and how many of a deployment's when
that is chosen; a job over them unticked does nothing and says why; ticked "Re-run", it runs
them again."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, offered, ok_json, sign_in
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

WINDOW = {"width": 1366, "height": 768}
#: Milliseconds a job of three photos may take on a loaded machine.
JOB_TIMEOUT_MS = 180_000


def _run_to_the_end(page: Any) -> int:
    """The job the form just started, once it ended: its id."""
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    page.wait_for_selector("#job-status .status-succeeded", timeout=JOB_TIMEOUT_MS)
    return int(page.url.rsplit("/", 1)[1])


def test_the_job_form_reruns_what_was_analysed_when_asked(
    page: Any, app: App, request: Any
) -> None:
    run = request.node.callspec.id
    project = ok_json(app.api("POST", "/projects/", json={"name": f"Reruns {run}"}), 201)["id"]
    trap = ok_json(
        app.api("POST", f"/projects/{project}/deployments/", json={"name": "Trap A"}), 201
    )["id"]
    for n in range(3):
        form = {"deployment_id": str(trap)} if n < 2 else {}
        photo = ("files", (f"night-{n}.jpg", light_trap_jpeg(seed=80 + n), "image/jpeg"))
        ok_json(app.api("POST", f"/projects/{project}/images/", files=[photo], data=form), 201)
    page.set_viewport_size(WINDOW)
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/jobs")
    offered(page, "#pipeline option[value='moth-blobs']")
    page.select_option("#pipeline", "moth-blobs")
    note = page.locator("#analysed-note")
    expect(note).to_have_text(
        re.compile(r"^None of the 3 photos chosen was analysed by moth-blobs v\d+ yet\.$")
    )
    version = (note.text_content() or "").split("moth-blobs ")[1].split()[0]  # "v6"
    page.get_by_role("button", name="Start").click()
    _run_to_the_end(page)

    page.goto(f"{app.url}/projects/{project}/jobs")
    expect(page.locator("#pipeline")).to_have_value("moth-blobs")
    expect(note).to_have_text(
        f"All 3 photos chosen were analysed by moth-blobs {version} already: a job skips them "
        "unless they are re-run."
    )
    page.select_option("#scope", label="deployment: Trap A")
    expect(note).to_contain_text(f"All 2 photos chosen were analysed by moth-blobs {version}")
    page.get_by_role("button", name="Start").click()
    skipped = _run_to_the_end(page)
    page.reload()  # the history as it ended (the page's script updates the counters only)
    expect(page.locator("ol.events")).to_contain_text("2 images skipped: already analysed")
    assert ok_json(app.api("GET", f"/jobs/{skipped}/"))["counts"]["total"] == 0

    page.goto(f"{app.url}/projects/{project}/jobs")
    page.select_option("#scope", label="deployment: Trap A")
    page.get_by_label("Re-run the photos already analysed").check()
    page.get_by_label("Name").fill("second pass")
    page.get_by_role("button", name="Start").click()
    again = _run_to_the_end(page)
    job = ok_json(app.api("GET", f"/jobs/{again}/"))
    assert (job["name"], job["counts"]["total"], job["counts"]["succeeded"]) == (
        "second pass",
        2,
        2,
    )
