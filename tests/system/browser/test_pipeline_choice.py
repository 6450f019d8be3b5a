"""Choosing which pipeline's counts the species page shows, in Chromium against a real
server: a heron seen by two MegaDetector versions whose classifiers disagree, counted by the
project's pipeline, then by the other one a person picks."""

from __future__ import annotations

import io
import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from tests.support.browser import App, ok_json, sign_in
from tests.support.waiting import wait_until
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = pytest.mark.slow

#: Seconds the occurrences duty (every 5 s) may take to track the frames on a loaded machine.
TRACKING_TIMEOUT = 90.0
T0 = datetime(2024, 3, 1, 21, 30)
TAXA = "scientific_name,rank,parent\nAves,class,\nArdea cinerea,species,Aves\n" + (
    "Ardea alba,species,Aves\n"
)


def _import(app: App, project: int, detector: str, category: str) -> None:
    results = {
        "info": {"format_version": "1.4", "detector": detector, "classifier": "species"},
        "detection_categories": {"1": "animal"},
        "classification_categories": {"1": "Ardea cinerea", "2": "Ardea alba"},
        "images": [
            {"file": f"Pond/frame-{n}.jpg",
             "detections": [{"category": "1", "conf": 0.9, "bbox": [0.2 + n / 100, 0.3, 0.2, 0.3],
                             "classifications": [[category, 0.8]]}]}
            for n in range(3)
        ],
    }  # fmt: skip
    md = {"file": ("md.json", io.BytesIO(json.dumps(results).encode()), "application/json")}
    ok_json(app.api("POST", f"/projects/{project}/imports/megadetector", files=md))


def _two_pipelines(app: App) -> tuple[int, str, str]:
    """A project whose heron two pipelines saw: it, its counting pipeline and the other."""
    project = ok_json(app.api("POST", "/projects/", json={"name": "Heron pond"}), 201)["id"]
    taxa = {"file": ("taxa.csv", io.BytesIO(TAXA.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    pond = ok_json(app.api("POST", f"/projects/{project}/deployments/", json={"name": "Pond"}), 201)
    frames = [
        ("files", (f"frame-{n}.jpg",
                   light_trap_jpeg(7, captured_at=T0 + timedelta(seconds=n), quality=80 + n),
                   "image/jpeg"))
        for n in range(3)
    ]  # fmt: skip
    ok_json(
        app.api(
            "POST",
            f"/projects/{project}/images/",
            files=frames,
            data={"deployment_id": str(pond["id"])},
        ),
        201,
    )
    _import(app, project, "md_v5a.0.0.pt", "1")
    _import(app, project, "heron-net.pt", "2")
    counting = wait_until(
        lambda: _both_tracked(app, project, pond["id"]),
        timeout=TRACKING_TIMEOUT,
        what="both pipelines' tracking",
    )
    other = next(
        p["pipeline"] for p in counting["pipelines"] if p["pipeline"] != counting["pipeline"]
    )
    return project, counting["pipeline"], other


def _both_tracked(app: App, project: int, pond: int) -> dict[str, Any] | None:
    events = ok_json(app.api("GET", f"/deployments/{pond}/events"))["results"]
    if not events or any(e["occurrences_pending"] for e in events):
        return None
    counting = ok_json(app.api("GET", f"/projects/{project}/counting"))
    if [p["occurrences"] for p in counting["pipelines"]] != [1, 1]:
        return None
    return dict(counting)


def _species(app: App, project: int, pipeline: str) -> str:
    rows = ok_json(app.api("GET", f"/projects/{project}/species", params={"pipeline": pipeline}))
    (row,) = rows["results"]
    return str(row["taxon"]["scientific_name"])


def test_a_person_shows_another_pipelines_counts_on_the_species_page(page: Any, app: App) -> None:
    project, counting, other = _two_pipelines(app)
    seen = {p: _species(app, project, p) for p in (counting, other)}
    assert set(seen.values()) == {"Ardea cinerea", "Ardea alba"}
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/species?since=2024-01-01")
    assert page.inner_text("#species tbody").count("Ardea") == 1
    assert seen[counting] in page.inner_text("#species tbody")
    assert page.inner_text("#counted-by") == (
        f"Counted by {counting} (the project's counting pipeline)."
    )

    page.select_option("#pipeline", other)
    page.click("#pipeline-choice button")
    page.wait_for_url(re.compile(rf".*pipeline={re.escape(other)}"))
    assert seen[other] in page.inner_text("#species tbody")
    assert seen[counting] not in page.inner_text("#species tbody")
    assert page.inner_text("#counted-by") == (
        f"Counted by {other}, not the project's counting pipeline, {counting}."
    )
    assert page.input_value("#f-since") == "2024-01-01"  # the filter was kept
    assert page.input_value("#pipeline") == other

    # Filtering again keeps the pipeline picked.
    page.fill("#f-since", "2024-02-01")
    page.click("#filters button")
    page.wait_for_url(re.compile(r".*since=2024-02-01"))
    assert seen[other] in page.inner_text("#species tbody")
    assert page.input_value("#pipeline") == other


def test_a_manager_chooses_what_a_deployment_counts_by_on_the_project_page(
    page: Any, app: App
) -> None:
    project, counting, other = _two_pipelines(app)
    (pond,) = ok_json(app.api("GET", f"/projects/{project}/counting"))["deployments"]
    # A person names the heron as its counting pipeline's classifier does; the other
    # pipeline's classifier calls it the other species.
    named = _species(app, project, counting)
    taxa = ok_json(app.api("GET", f"/projects/{project}/taxa/search", params={"q": "Ardea"}))
    taxon = next(t["id"] for t in taxa if t["scientific_name"] == named)
    events = ok_json(app.api("GET", f"/deployments/{pond['deployment_id']}/events"))["results"]
    heron = ok_json(app.api("GET", f"/events/{events[0]['id']}/occurrences"))["results"][0]
    ok_json(
        app.api("POST", f"/occurrences/{heron['id']}/identifications", json={"taxon_id": taxon}),
        201,
    )
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}")
    select = f"#d-counting-{pond['deployment_id']}"
    assert page.input_value(select) == counting
    assert "its first results" in page.inner_text("#deployment-counting")
    page.select_option(select, other)
    page.click("#deployment-counting button")
    page.wait_for_url(re.compile(rf".*/projects/{project}#counting$"))
    chosen = ok_json(app.api("GET", f"/deployments/{pond['deployment_id']}"))
    assert (chosen["counting_pipeline"], chosen["counting_chosen"]) == (other, "person")
    assert page.input_value(select) == other
    assert "a person, for this deployment" in page.inner_text("#deployment-counting")
    page.goto(f"{app.url}/projects/{project}/species")
    assert (
        page.inner_text("#counted-by") == f"Counted by {other} (the project's counting pipeline)."
    )
    # The person's name went with the heron to the other pipeline's individual.
    assert named in page.inner_text("#species tbody")


def test_a_manager_compares_two_pipelines_and_chooses_from_the_comparison(
    page: Any, app: App
) -> None:
    project, counting, other = _two_pipelines(app)
    (pond,) = ok_json(app.api("GET", f"/projects/{project}/counting"))["deployments"]
    deployment = pond["deployment_id"]
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}")
    page.click(f"#deployment-counting a[href='/deployments/{deployment}/compare']")
    page.wait_for_url(re.compile(rf".*/deployments/{deployment}/compare$"))
    # It opens on what the deployment counts by against the other pipeline.
    assert (page.input_value("#c-a"), page.input_value("#c-b")) == (counting, other)
    assert page.inner_text("#compare-counts td[data-kind='same']") == "0"
    assert page.inner_text("#compare-counts td[data-kind='relabelled']") == "3"
    page.select_option("#c-a", other)
    page.select_option("#c-b", counting)
    page.click("#compare-form button")
    page.wait_for_url(re.compile(r".*/compare\?a=.*&b=.*"))
    page.click(f"text=Count Pond by {other}")
    page.wait_for_url(re.compile(rf".*/projects/{project}#counting$"))
    chosen = ok_json(app.api("GET", f"/deployments/{deployment}"))
    assert (chosen["counting_pipeline"], chosen["counting_chosen"]) == (other, "person")
