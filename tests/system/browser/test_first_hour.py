"""The first hour of two people in the web app alone, in Chromium at 1366x768, with the vendored
real photos: a moth-trap person (a light-trap project, a deployment with its place and zone,
the light-trap frames uploaded, moth-blobs run from the Jobs page, one night, several moths
identified at once, the species page, a Darwin Core archive downloaded from the export form)
and a camera-trap person (a camera-trap project, a deployment with its place, MegaDetector
offered but needing its weights, MegaDetector results for the heron burst imported on the
import page, one sequence with one heron, event-level Camtrap DP from the export form).

Each step is photographed and the page must not scroll sideways at 1366 px. The screenshots go
to the test's temporary folder; ``make screenshots`` (TRAPLINE_SCREENSHOTS=docs/images) writes
the SQLite run's into docs/images instead.
"""

from __future__ import annotations

import csv
import io
import json
import os
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, sign_in
from tests.support.scenes import TAXA_CSV
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
PHOTOS = ROOT / "tests" / "data" / "photos"
#: The heron's hand-checked box in each camera-trap photo (fractions: x1, y1, x2, y2).
HERON: dict[str, list[float]] = json.loads(
    (ROOT / "data" / "ground-truth" / "tracking.json").read_text()
)["heron"]["boxes"]
#: A moth-trap person's first taxa list.
MOTH_TAXA = """scientific_name,rank,parent,vernacular_name:en
Animalia,kingdom,,Animals
Arthropoda,phylum,Animalia,
Insecta,class,Arthropoda,Insects
Lepidoptera,order,Insecta,Moths and butterflies
"""
WIDTH, HEIGHT = 1366, 768
#: Milliseconds a job, the occurrences duty (every 5 s) or an export may take on a loaded machine.
WORK_MS = 90_000
#: Milliseconds a picker's suggestions may take to come on a loaded machine.
SUGGESTION_MS = 15_000
#: How many moths the person names at once (fewer if moth-blobs tracks fewer).
TO_IDENTIFY = 5


#: Every image of the page loaded (lazy ones asked for now): the addresses of the broken ones.
_LOADED = """async () => {
  const images = [...document.images];
  await Promise.all(images.map(i => {
    i.loading = "eager";
    return i.complete ? null : new Promise(r => { i.onload = r; i.onerror = r; });
  }));
  return images.filter(i => i.naturalWidth === 0).map(i => i.getAttribute("src"));
}"""


class Steps:
    """Each step's screenshot, numbered, and the check that the page fits the screen's width."""

    def __init__(self, page: Any, folder: Path, person: str) -> None:
        self.page, self.folder, self.person, self.count = page, folder, person, 0

    def __call__(self, name: str) -> None:
        self.page.wait_for_load_state("load")
        # Lazy images (crops, thumbnails) loaded for a whole-page picture; none may be broken.
        broken = self.page.evaluate(_LOADED)
        assert broken == [], f"{self.page.url}: images that did not load: {broken}"
        width = self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= WIDTH, f"{self.page.url}: {width} px wide at {WIDTH} px ({name})"
        self.count += 1
        self.folder.mkdir(parents=True, exist_ok=True)
        shot = self.folder / f"first-hour-{self.person}-{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(shot), full_page=True)


@pytest.fixture
def screen(chromium: Any) -> Iterator[Any]:
    """A fresh page on a laptop's screen."""
    context = chromium.new_context(viewport={"width": WIDTH, "height": HEIGHT})
    context.set_default_timeout(30_000)
    yield context.new_page()
    context.close()


def _folder(request: Any, tmp_path: Path) -> Path:
    """docs/images (or wherever TRAPLINE_SCREENSHOTS says) for the SQLite run when asked for,
    else the test's own folder: a plain run changes no tracked file."""
    asked = os.environ.get("TRAPLINE_SCREENSHOTS")
    return Path(asked) if asked and request.node.callspec.id == "sqlite" else tmp_path


def _new_project(page: Any, app: App, name: str, kind: str) -> int:
    page.goto(f"{app.url}/projects")
    page.fill("#name", name)
    page.select_option("#kind", kind)
    page.click("text=Create project")
    page.wait_for_url(re.compile(r".*/projects/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _taxa(page: Any, app: App, project: int, csv_file: Path, added: int) -> None:
    page.goto(f"{app.url}/projects/{project}/taxa")
    page.set_input_files("#t-file", str(csv_file))
    page.locator("#import").get_by_role("button", name="Import").click()
    expect(page.locator("#taxon-count")).to_have_text(str(added))


def _deployment(page: Any, app: App, project: int, place: dict[str, str]) -> int:
    page.goto(f"{app.url}/projects/{project}/deployments")
    for field, value in place.items():
        page.fill(f"#d-{field}", value)
    page.click("text=Add deployment")
    page.wait_for_url(re.compile(r".*/deployments/\d+$"))
    return int(page.url.rsplit("/", 1)[1])


def _upload(page: Any, app: App, project: int, deployment: str, photos: list[Path]) -> None:
    page.goto(f"{app.url}/projects/{project}/images")
    page.select_option("#upload-deployment", label=deployment)
    page.set_input_files("#file-input", [str(p) for p in photos])
    expect(page.locator("#dropzone")).to_have_attribute("data-done", str(len(photos)))
    expect(page.locator("#upload-status")).to_contain_text(f"Uploaded {len(photos)} new images")
    expect(page.locator(".grid img")).to_have_count(len(photos))
    # The next batch would go into the same deployment: the choice survives the reload.
    chosen = page.locator("#upload-deployment option:checked")
    expect(chosen).to_have_text(deployment)


def _reload_until(page: Any, ready: Any, what: str) -> None:
    """Reload the page until ``ready()`` says what it shows is there (work another process
    does on a timer: tracking)."""

    def look() -> bool:
        page.reload()
        return bool(ready())

    wait_until(look, what, timeout=WORK_MS / 1000)


def _download(page: Any, app: App, project: int, kind: str) -> zipfile.ZipFile:
    """The newest export's file, once its download link shows on the exports page (the page's
    script follows its progress)."""
    page.wait_for_url(f"{app.url}/projects/{project}/exports")
    row = page.locator("tr.export-item").first
    link = row.locator("a.download")
    expect(link).to_be_visible(timeout=WORK_MS)
    got = page.request.get(app.url + link.get_attribute("href"))
    assert got.ok, (kind, got.status)
    return zipfile.ZipFile(io.BytesIO(got.body()))


def test_a_moth_trap_person_names_a_nights_moths_and_exports_them(
    screen: Any, app: App, request: Any, tmp_path: Path
) -> None:
    page = screen
    step = Steps(page, _folder(request, tmp_path), "moths")
    sign_in(page, app)
    project = _new_project(page, app, "Vermont moths", "light_trap")
    step("project")
    taxa = tmp_path / "moths.csv"
    taxa.write_text(MOTH_TAXA)
    _taxa(page, app, project, taxa, added=4)

    deployment = _deployment(
        page,
        app,
        project,
        {
            "name": "Sheet by the barn",
            "latitude": "44.4759",
            "longitude": "-73.2121",
            "zone": "America/New_York",
        },
    )
    expect(page.locator("#d-latitude")).to_have_value("44.4759")
    expect(page.locator("#d-zone")).to_have_value("America/New_York")
    step("deployment")

    photos = sorted((PHOTOS / "light-trap").iterdir())
    _upload(page, app, project, "Sheet by the barn", photos)
    step("upload")

    # The Jobs page offers moth-blobs first once the embedded worker has registered it with the
    # new project (on a timer), and the job's page follows the job to the end.
    page.goto(f"{app.url}/projects/{project}")
    page.get_by_role("link", name="Jobs", exact=True).click()
    offered = page.locator("#pipeline option[value='moth-blobs']")
    _reload_until(page, lambda: offered.count() == 1, "moth-blobs registered with the project")
    expect(page.locator("#pipeline")).to_have_value("moth-blobs")
    page.fill("#job-name", "First night")
    step("jobs")
    page.click("#start-job button[type=submit]")
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    expect(page.locator("#job-status .status-succeeded")).to_be_visible(timeout=WORK_MS)
    step("job-done")

    # One night, counted once the occurrences duty has tracked the frames.
    page.goto(f"{app.url}/deployments/{deployment}")
    events = page.locator("#events tbody tr")
    _reload_until(
        page,
        lambda: events.count() == 1 and "counting" not in events.first.inner_text(),
        "the night's tracking",
    )
    expect(page.locator("#events-title + p")).to_contain_text("Grouped by night")
    night = events.first.locator("td")
    expect(night.nth(0)).to_contain_text("2022-07-28 23:22:39 -04:00")
    expect(night.nth(2)).to_have_text("2")
    moths = int(night.nth(3).inner_text())
    assert moths >= 2, f"moth-blobs tracked {moths} individuals on the two frames"
    step("night")

    # The moths (as moth-blobs labels them) named at once on the identify page.
    page.goto(f"{app.url}/projects/{project}/identify")
    labelled = page.locator("#identify-queue tbody tr").filter(has_text="moth by model")
    expect(labelled.first).to_be_visible()
    named = min(TO_IDENTIFY, labelled.count())
    assert named >= 2, f"the identify page lists {labelled.count()} moths"
    for n in range(named):
        labelled.nth(n).locator("input.tick").click()
    expect(page.locator("output[data-ticked-count]")).to_have_text(f"{named} ticked")
    picker = page.get_by_role("combobox", name=re.compile("Taxon for all the ticked"))
    picker.press_sequentially("lepid", delay=30)
    expect(page.get_by_role("option")).to_have_count(1, timeout=SUGGESTION_MS)
    page.get_by_role("option", name=re.compile(r"^Lepidoptera \(order\)")).click()
    expect(picker).to_have_value("Lepidoptera (order)")
    step("identify")
    page.get_by_role("button", name="Identify the ticked").click()
    page.wait_for_url(re.compile(rf"/projects/{project}/identify\?identified={named}$"))
    expect(page.locator("#bulk-done")).to_have_text(f"{named} occurrences identified.")

    page.goto(f"{app.url}/projects/{project}/species")
    row = page.locator("#species tbody tr").filter(has_text="Lepidoptera")
    expect(row).to_have_count(1)
    expect(row.locator("td.num").first).to_have_text(str(named))  # occurrences
    step("species")

    # A Darwin Core archive from the export form.
    page.goto(f"{app.url}/projects/{project}/exports")
    page.select_option("#e-format", "dwca")
    step("export-form")
    page.click("#start-export button[type=submit]")
    with _download(page, app, project, "dwca") as archive:
        text = archive.read("occurrence.txt").decode("utf-8-sig")
    step("export-done")
    rows = list(csv.DictReader(io.StringIO(text), delimiter="\t"))
    lepidoptera = [r for r in rows if r["scientificName"] == "Lepidoptera"]
    assert len(lepidoptera) == named, rows
    assert {(r["decimalLatitude"], r["decimalLongitude"]) for r in lepidoptera} == {
        ("44.4759", "-73.2121")
    }


def _megadetector_results(folder: Path) -> Path:
    """MegaDetector's results for the heron burst as its runner writes them (relative paths
    under the deployment's folder), with a species classifier's name for the heron."""
    results = {
        "info": {"format_version": "1.4", "detector": "md_v5a.0.0.pt", "classifier": "species"},
        "detection_categories": {"1": "animal", "2": "person", "3": "vehicle"},
        "classification_categories": {"1": "Ardea cinerea"},
        "images": [
            {"file": f"Stream/{name}",
             "detections": [{"category": "1", "conf": 0.93,
                             "bbox": [x1, y1, round(x2 - x1, 4), round(y2 - y1, 4)],
                             "classifications": [["1", 0.88]]}]}
            for name, (x1, y1, x2, y2) in sorted(HERON.items())
        ],
    }  # fmt: skip
    path = folder / "md-results.json"
    path.write_text(json.dumps(results))
    return path


def test_a_camera_trap_person_imports_megadetector_results_and_exports_the_heron(
    screen: Any, app: App, request: Any, tmp_path: Path
) -> None:
    page = screen
    step = Steps(page, _folder(request, tmp_path), "camera")
    sign_in(page, app)
    project = _new_project(page, app, "Stream herons", "camera_trap")
    step("project")
    taxa = tmp_path / "birds.csv"
    taxa.write_text(TAXA_CSV)
    _taxa(page, app, project, taxa, added=8)
    deployment = _deployment(
        page,
        app,
        project,
        {
            "name": "Stream",
            "latitude": "50,85",  # as many people write it
            "longitude": "4.35",
            "zone": "Europe/Brussels",
        },
    )
    expect(page.locator("#d-latitude")).to_have_value("50.85")
    step("deployment")

    # MegaDetector is offered first, and says what it lacks and where to get it.
    page.goto(f"{app.url}/projects/{project}")
    page.get_by_role("link", name="Jobs", exact=True).click()
    picker = page.locator("#pipeline")
    expect(picker).to_have_value("megadetector")
    note = page.locator('.pipeline-note[data-pipeline="megadetector"]')
    expect(note).to_contain_text("MegaDetector v5a needs its weights")
    expect(note).to_contain_text(f"put them in {app.weights}")
    expect(note.get_by_role("link", name=re.compile("how to make it ready"))).to_be_visible()
    step("jobs-megadetector")
    note.get_by_role("link", name=re.compile("how to make it ready")).click()
    row = page.locator('#builtin-pipelines tr[data-slug="megadetector"]')
    expect(row).to_have_attribute("data-state", "needs_weights")
    step("processing")
    assert not app.weights.exists() or not any(app.weights.iterdir())  # nothing downloaded

    _upload(page, app, project, "Stream", sorted((PHOTOS / "camera-trap").iterdir()))
    step("upload")

    # Results made elsewhere, imported on the import page.
    page.goto(f"{app.url}/projects/{project}")
    page.get_by_role("link", name="Import them").click()
    page.set_input_files("#md-file", str(_megadetector_results(tmp_path)))
    page.select_option("#md-deployment", label="Stream")
    step("import-form")
    page.get_by_role("button", name="Import", exact=True).click()
    report = page.locator("#import-report")
    expect(report.get_by_role("status")).to_have_text(
        "10 of 10 images in the file matched a photo of the project; 10 detections stored on "
        "10 photos."
    )
    step("import-report")

    # One sequence, and in it one heron.
    page.goto(f"{app.url}/deployments/{deployment}")
    events = page.locator("#events tbody tr")
    _reload_until(
        page,
        lambda: events.count() == 1 and "counting" not in events.first.inner_text(),
        "the burst's tracking",
    )
    expect(page.locator("#events-title + p")).to_contain_text("Grouped by sequence")
    sequence = events.first.locator("td")
    expect(sequence.nth(0)).to_contain_text("2021-04-11 20:43:09 +02:00")
    expect(sequence.nth(2)).to_have_text("10")
    expect(sequence.nth(3)).to_have_text("1")
    expect(sequence.nth(4)).to_contain_text("Ardea cinerea")
    step("sequence")
    sequence.nth(0).get_by_role("link").click()
    page.wait_for_url(re.compile(r".*/events/\d+$"))
    event = int(page.url.rsplit("/", 1)[1])
    herons = page.locator("#event-occurrences tbody tr")
    expect(herons).to_have_count(1)
    expect(herons.first).to_contain_text("Ardea cinerea")
    step("event")

    # Event-level Camtrap DP from the export form.
    page.goto(f"{app.url}/projects/{project}/exports")
    page.select_option("#e-format", "camtrap-dp")
    page.select_option("#e-level", "event")
    step("export-form")
    page.click("#start-export button[type=submit]")
    with _download(page, app, project, "camtrap-dp") as package:
        text = package.read("observations.csv").decode("utf-8-sig")
        deployments = package.read("deployments.csv").decode("utf-8-sig")
    step("export-done")
    observations = list(csv.DictReader(io.StringIO(text)))
    assert [(o["observationLevel"], o["eventID"], o["scientificName"], o["count"])
            for o in observations] == [("event", str(event), "Ardea cinerea", "1")]  # fmt: skip
    (place,) = csv.DictReader(io.StringIO(deployments))
    assert (place["latitude"], place["longitude"]) == ("50.85", "4.35")
