"""The web app in Chromium against a real ``trapline up --demo``, on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import os
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import UPLOAD_LIMIT, App, offered, sign_in
from tests.support.protocol import pipeline_config, registration
from tests.support.source_servers import Station, http_serving
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

#: Where the screenshots of the main pages go: the folder TRAPLINE_SCREENSHOTS names (docs/web.md
#: shows those in docs/images), else the test's own folder, so a run changes no tracked file.
SCREENSHOTS = os.environ.get("TRAPLINE_SCREENSHOTS")
#: Seconds a job of a few images may take on a loaded machine.
JOB_TIMEOUT_MS = 180_000

_DROP = """async ([files]) => {
  const transfer = new DataTransfer();
  for (const [name, data] of files) {
    const bytes = Uint8Array.from(atob(data), c => c.charCodeAt(0));
    transfer.items.add(new File([bytes], name, { type: "image/jpeg" }));
  }
  const zone = document.getElementById("dropzone");
  for (const type of ["dragenter", "dragover", "drop"]) {
    const init = { dataTransfer: transfer, bubbles: true, cancelable: true };
    zone.dispatchEvent(new DragEvent(type, init));
  }
}"""


def _annotated_image(app: App) -> tuple[int, list[list[float]], int, int]:
    """A demo image with boxes: its id, stored boxes, width and height."""
    images = app.api("GET", f"/projects/{app.demo_project}/images/?limit=100").json()["results"]
    best = None
    for image in images:
        detail = app.api("GET", f"/images/{image['id']}/").json()
        boxes = [
            [a["bbox"]["x1"], a["bbox"]["y1"], a["bbox"]["x2"], a["bbox"]["y2"]]
            for analysis in detail["analyses"]
            for a in analysis["annotations"]
            if a["type"] == "bounding_box"
        ]
        if boxes and (best is None or len(boxes) > len(best[1])):
            best = (image["id"], boxes, image["width"], image["height"])
    assert best, "the demo job found nothing"
    return best


def _create_project(page: Any, app: App, name: str, kind: str = "light_trap") -> int:
    page.goto(f"{app.url}/projects")
    page.fill("#name", name)
    page.select_option("#kind", kind)
    page.click("text=Create project")
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def test_sign_in_create_project_upload_by_drop_and_run_a_job(page: Any, app: App) -> None:
    sign_in(page, app)
    project = _create_project(page, app, "Garden moths")
    page.goto(f"{app.url}/projects/{project}/images")
    files = [
        (f"2024062{n}220000.jpg", base64.b64encode(light_trap_jpeg(seed=40 + n)).decode())
        for n in range(3)
    ]
    page.evaluate(_DROP, [files])
    page.wait_for_selector("#dropzone[data-done='3']")
    assert "Uploaded 3 new images" in page.inner_text("#upload-status")
    page.wait_for_selector(".grid img >> nth=2")
    assert app.api("GET", f"/projects/{project}/images/").json()["count"] == 3

    # A file over the limit for one file is refused by name; the others of the drop are kept.
    big = ("2024062922000-big.jpg", base64.b64encode(b"\xff\xd8" + b"\0" * (UPLOAD_LIMIT + 1)))
    more = [
        (f"2024062{n}230000.jpg", base64.b64encode(light_trap_jpeg(seed=50 + n)).decode())
        for n in range(2)
    ]
    page.evaluate(_DROP, [[more[0], (big[0], big[1].decode()), more[1]]])
    page.wait_for_selector("#dropzone[data-done='2']")
    outcome = page.inner_text("#upload-status")
    assert "Uploaded 2 new images; 1 refused (2024062922000-big.jpg:" in outcome, outcome
    assert app.api("GET", f"/projects/{project}/images/").json()["count"] == 5

    # A photo the project has already stays where it is, and the outcome says where.
    made = app.api("POST", f"/projects/{project}/deployments", json={"name": "Trap A"})
    assert made.status_code == 201, made.text
    page.goto(f"{app.url}/projects/{project}/images")
    page.select_option("#upload-deployment", label="Trap A")
    page.evaluate(_DROP, [[more[0]]])
    page.wait_for_selector("#dropzone[data-done='1']")
    outcome = page.inner_text("#upload-status")
    assert "Uploaded 0 new images, 1 already there (1 of them stays in no deployment)." in outcome
    assert app.api("GET", f"/projects/{project}/images/").json()["count"] == 5

    # The embedded worker registers its pipelines with new projects on a timer.
    page.goto(f"{app.url}/projects/{project}/jobs")
    offered(page, "#pipeline option[value='moth-blobs']")
    page.select_option("#pipeline", "moth-blobs")
    page.click("#start-job button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    # The page's script polls; the bar reaches 100% without a reload.
    page.wait_for_function(
        "() => document.querySelector('.progress progress').value === 100", timeout=JOB_TIMEOUT_MS
    )
    page.wait_for_selector("#job-status .status-succeeded", timeout=JOB_TIMEOUT_MS)
    job_id = int(page.url.rsplit("/", 1)[1])
    assert app.api("GET", f"/jobs/{job_id}/").json()["status"] == "succeeded"


def test_viewer_draws_boxes_where_they_are_stored(page: Any, app: App) -> None:
    image_id, stored, width, height = _annotated_image(app)
    sign_in(page, app)
    page.goto(f"{app.url}/images/{image_id}")
    page.wait_for_function("() => document.getElementById('photo').complete")
    photo = page.eval_on_selector("#photo", "e => e.getBoundingClientRect().toJSON()")
    natural = page.eval_on_selector("#photo", "e => [e.naturalWidth, e.naturalHeight]")
    assert natural == [width, height]
    # Boxes under moth-blobs' threshold (not insects) are hidden until asked for.
    below = page.query_selector_all(".det.below")
    assert all(not b.is_visible() for b in below)
    if below:
        page.check("#toggle-below")
        assert all(b.is_visible() for b in below)
    drawn = page.eval_on_selector_all(
        ".det[data-model='moth-blobs'] rect",
        "rs => rs.map(r => r.getBoundingClientRect().toJSON())",
    )
    assert len(drawn) == len(stored)
    sx, sy = photo["width"] / width, photo["height"] / height
    for (x1, y1, x2, y2), rect in zip(
        sorted(stored), sorted(drawn, key=lambda r: (r["x"], r["y"])), strict=True
    ):
        assert rect["x"] - photo["x"] == pytest.approx(x1 * sx, abs=1.0)
        assert rect["y"] - photo["y"] == pytest.approx(y1 * sy, abs=1.0)
        assert rect["width"] == pytest.approx((x2 - x1) * sx, abs=1.0)
        assert rect["height"] == pytest.approx((y2 - y1) * sy, abs=1.0)

    # b hides and shows the boxes; → goes to the next (older) image.
    page.keyboard.press("b")
    assert page.eval_on_selector("#overlay", "o => o.classList.contains('boxes-off')")
    page.keyboard.press("b")
    assert not page.eval_on_selector("#overlay", "o => o.classList.contains('boxes-off')")
    if page.query_selector("#next-link"):
        older = page.get_attribute("#next-link", "href")
        page.keyboard.press("ArrowRight")
        page.wait_for_url(f"{app.url}{older}")


def test_a_review_is_visible_in_the_api(page: Any, app: App) -> None:
    image_id, _, _, _ = _annotated_image(app)
    sign_in(page, app)
    page.goto(f"{app.url}/images/{image_id}")
    first = page.query_selector(".annotation")
    annotation = int(first.get_attribute("data-id"))
    # Picking a box on the photo puts it in the review panel; so does picking it in the list.
    boxes = page.query_selector_all("#overlay .det[data-id]")
    # A pick goes through the address (#a<id>), so the panel follows on the hashchange event.
    boxes[-1].query_selector("rect").click()
    expect(page.locator("#r-annotation")).to_have_value(boxes[-1].get_attribute("data-id"))
    first.query_selector("a.pick").click()
    expect(page.locator("#r-annotation")).to_have_value(str(annotation))
    assert page.inner_text("#r-label") == first.get_attribute("data-caption")
    page.fill("#r-relabel", "Noctuidae")
    page.click("#review-form button[value='relabel']")
    page.wait_for_selector(f"#a{annotation} .reviewed-by")
    assert "relabel: Noctuidae by admin@localhost" in page.inner_text(f"#a{annotation}")
    reviews = app.api("GET", f"/images/{image_id}/reviews/").json()["results"]
    assert [(r["annotation_id"], r["verdict"], r["label"]) for r in reviews][-1] == (
        annotation,
        "relabel",
        "Noctuidae",
    )


def test_cancel_a_job(page: Any, app: App) -> None:
    sign_in(page, app)
    project = _create_project(page, app, "Cancel me")
    for n in range(2):
        app.api(
            "POST",
            f"/projects/{project}/images/",
            files={"files": (f"c{n}.jpg", light_trap_jpeg(seed=70 + n))},
        )
    # A pipeline no worker serves: its job stays running until it is canceled.
    config = pipeline_config("nobody-runs-this")
    answer = app.api("POST", f"/projects/{project}/pipelines/", json=registration(config))
    assert answer.status_code == 201, answer.text
    page.goto(f"{app.url}/projects/{project}/jobs")
    page.select_option("#pipeline", "nobody-runs-this")
    page.click("#start-job button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    job_id = int(page.url.rsplit("/", 1)[1])
    page.click("#cancel-job")
    page.wait_for_selector("#job-status .status-canceled")
    assert app.api("GET", f"/jobs/{job_id}/").json()["status"] == "canceled"


def _person(app: App, email: str, role: str | None) -> str:
    """A user with a password, a member of the demo project with ``role`` (None: not one)."""
    made = app.api("POST", "/users/", json={"email": email, "name": email.split("@")[0]})
    assert made.status_code == 201, made.text
    password = app.api("POST", f"/users/{made.json()['id']}/password").json()["password"]
    if role:
        added = app.api(
            "POST",
            f"/projects/{app.demo_project}/members/",
            json={"email": email, "role": role},
        )
        assert added.status_code in (200, 201), added.text
    return str(password)


def test_viewer_role_sees_no_edit_controls(page: Any, app: App, request: Any) -> None:
    email = f"viewer-{request.node.callspec.id}@example.org"
    sign_in(page, app, email, _person(app, email, "viewer"))
    page.goto(f"{app.url}/projects/{app.demo_project}/images")
    assert page.query_selector("#dropzone") is None
    image_id, _, _, _ = _annotated_image(app)
    page.goto(f"{app.url}/images/{image_id}")
    assert page.query_selector(".review-form") is None
    assert page.query_selector("#missing-form") is None
    page.goto(f"{app.url}/projects/{app.demo_project}/jobs")
    assert page.query_selector("#start-job") is None


def test_foreign_project_answers_404(page: Any, app: App, request: Any) -> None:
    email = f"outsider-{request.node.callspec.id}@example.org"
    sign_in(page, app, email, _person(app, email, None))
    foreign = page.goto(f"{app.url}/projects/{app.demo_project}")
    missing = page.goto(f"{app.url}/projects/999999")
    assert foreign.status == missing.status == 404
    assert page.inner_text("h1") == "Not found"


def test_csrf_refusal(page: Any, app: App) -> None:
    sign_in(page, app)
    status = page.evaluate(
        """async () => (await fetch('/projects', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'name=forged'})).status"""
    )
    assert status == 403
    with_wrong = page.evaluate(
        """async () => (await fetch('/projects', {method: 'POST',
             headers: {'Content-Type': 'application/x-www-form-urlencoded'},
             body: 'name=forged&csrf=' + 'f'.repeat(64)})).status"""
    )
    assert with_wrong == 403
    names = [p["name"] for p in app.api("GET", "/projects/?limit=1000").json()["results"]]
    assert "forged" not in names


def test_xss_in_names_is_inert(page: Any, app: App) -> None:
    sign_in(page, app)
    evil = '<img src=x onerror="window.__xss=1"><script>window.__xss=2</script>'
    project = _create_project(page, app, evil)
    page.goto(f"{app.url}/projects/{project}")
    assert page.inner_text("h1") == evil  # shown as text
    page.goto(f"{app.url}/projects")
    assert page.evaluate("window.__xss") is None
    assert page.query_selector("main img[src=x]") is None


def test_pages_have_no_serious_accessibility_violations(
    page: Any, app: App, request: Any, tmp_path: Path
) -> None:
    from axe_playwright_python.sync_playwright import Axe

    image_id, _, _, _ = _annotated_image(app)
    jobs = app.api("GET", f"/jobs/?project={app.demo_project}").json()["results"]
    deployment = app.api("GET", f"/projects/{app.demo_project}/deployments/").json()["results"][0]
    p = app.demo_project
    pages = {
        "signin": "/signin",
        "projects": "/projects",
        "project": f"/projects/{p}",
        "images": f"/projects/{p}/images",
        "viewer": f"/images/{image_id}",
        "jobs": f"/projects/{p}/jobs",
        "job": f"/jobs/{jobs[-1]['id']}",
        "review": f"/projects/{p}/review",
        "deployments": f"/projects/{p}/deployments",
        "deployment": f"/deployments/{deployment['id']}",
        "sources": f"/projects/{p}/sources",
        "source": f"/sources/{_a_source(app)}",
        "exports": f"/projects/{p}/exports",
        "processing": f"/projects/{p}/processing",
        "members": f"/projects/{p}/members",
        "account": "/account",
        "admin": "/admin/users",
    }
    axe = Axe()
    page.goto(f"{app.url}/signin")
    problems = {}
    for name, path in pages.items():
        if name == "projects":
            sign_in(page, app)
        page.goto(f"{app.url}{path}")
        page.wait_for_load_state("networkidle")
        results = axe.run(page)
        serious = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in results.response["violations"]
            if v["impact"] in ("serious", "critical")
        ]
        if serious:
            problems[name] = serious
        if request.node.callspec.id == "sqlite" and name in (
            "project",
            "images",
            "viewer",
            "job",
            "deployment",
            "review",
        ):
            folder = Path(SCREENSHOTS) if SCREENSHOTS else tmp_path
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(folder / f"web-{name}.png"))
            assert (folder / f"web-{name}.png").stat().st_size > 0
    assert problems == {}


def _a_source(app: App) -> int:
    """A pull source of the demo project (an S3 bucket: nothing is called until it runs)."""
    made = app.api(
        "POST",
        f"/projects/{app.demo_project}/sources",
        json={
            "name": "Camera drop",
            "kind": "s3",
            "url": "s3://camera-drop/trap-1",
            "credentials": {"access_key_id": "AKIAEXAMPLE", "secret_access_key": "example"},
        },
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def test_an_export_started_on_the_page_ends_with_a_download_link(page: Any, app: App) -> None:
    sign_in(page, app)
    exports = f"{app.url}/projects/{app.demo_project}/exports"
    page.goto(exports)
    page.select_option("#e-format", "csv")
    page.check("input[name=include_empty]")
    page.click("#start-export button[type=submit]")
    page.wait_for_url(exports)
    row = page.locator("tr.export-item").first
    # The page's script polls; the row turns succeeded and shows its link without a reload.
    link = row.locator("a.download")
    link.wait_for(state="visible", timeout=JOB_TIMEOUT_MS)
    assert row.locator(".export-status .status").inner_text() == "succeeded"
    assert row.locator("progress").evaluate("bar => bar.value") == 100
    export_id = int(link.get_attribute("href").split("/")[2])
    assert app.api("GET", f"/exports/{export_id}/").json()["status"] == "succeeded"
    file = page.request.get(app.url + link.get_attribute("href"))  # the signed link, followed
    assert file.ok, file.status
    assert file.text().lstrip("\ufeff").startswith("image_id,file_name,")


class _HeldStation(Station):
    """A camera station with one photo, whose listing waits until the test opens the gate."""

    gate = threading.Event()
    photo = light_trap_jpeg(0, width=320, height=240)

    def do_GET(self) -> None:
        if self.path == "/photos/":
            self.gate.wait(timeout=JOB_TIMEOUT_MS / 1000)
            listing = [{"name": "a.jpg", "type": "file", "size": len(self.photo)}]
            self.answer(200, json.dumps(listing).encode(), "application/json")
        else:
            self.answer(200, self.photo, "image/jpeg")


@pytest.fixture
def station() -> Iterator[str]:
    """The URL of the station's photo folder; its listing is held until the gate opens."""
    _HeldStation.gate.clear()
    with http_serving(_HeldStation) as server:
        yield f"{server}photos/"
        _HeldStation.gate.set()


def test_a_run_page_follows_its_run_until_it_ends(page: Any, app: App, station: str) -> None:
    made = app.api(
        "POST",
        f"/projects/{app.demo_project}/sources",
        json={"name": "Held station", "kind": "http_directory", "url": station},
    )
    assert made.status_code == 201, made.text
    sign_in(page, app)
    page.goto(f"{app.url}/sources/{made.json()['id']}")
    page.click("button:has-text('Run now')")
    page.wait_for_url(re.compile(r".*/sources/\d+/runs/\d+$"))
    facts = page.locator("#run-facts")
    # The station holds its listing: the run cannot have ended yet.
    assert facts.get_attribute("data-final") == "false"
    assert facts.locator(".status").inner_text() in ("queued", "running")
    assert facts.locator("dt:has-text('Ended') + dd").inner_text() == "—"
    page.evaluate("window.loadedBeforeTheRunEnded = true")
    # The source's page, in another tab, follows the run's row without loading again.
    source_tab = page.context.new_page()
    source_tab.goto(f"{app.url}/sources/{made.json()['id']}")
    row = source_tab.locator("tbody tr").first
    assert row.get_attribute("data-final") == "false"
    source_tab.evaluate("window.loadedBeforeTheRunEnded = true")
    # The run page's script follows the run, and loads the page again once it has ended.
    with page.expect_navigation(timeout=JOB_TIMEOUT_MS):
        _HeldStation.gate.set()
    row.locator('.status:text("succeeded")').wait_for(timeout=JOB_TIMEOUT_MS)
    assert row.get_attribute("data-final") == "true"
    assert row.locator('[data-field="imported"]').inner_text() == "1"
    assert source_tab.evaluate("window.loadedBeforeTheRunEnded") is True
    source_tab.close()
    assert page.evaluate("window.loadedBeforeTheRunEnded") is None
    assert facts.get_attribute("data-final") == "true"
    assert facts.locator(".status").inner_text() == "succeeded"
    assert facts.locator('[data-field="imported"]').inner_text() == "1"
    assert facts.locator('[data-field="listed"]').inner_text() == "1"
    assert facts.locator("dt:has-text('Ended') + dd").inner_text() != "—"
