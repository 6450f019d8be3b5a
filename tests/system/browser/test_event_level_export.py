"""Event-level Camtrap DP from the web form, in Chromium: a person picks Camtrap DP and its
event level, and the package's observations are one per event and taxon, counting the heron
of the vendored burst once, not once per photo."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest

from tests.support.browser import App, heron_event, ok_json, sign_in
from tests.support.scenes import TAXA_CSV

pytestmark = pytest.mark.slow

#: Milliseconds an export of ten photos may take on a loaded machine.
EXPORT_TIMEOUT_MS = 90_000


def test_a_person_exports_event_level_camtrap_dp_from_the_form(
    page: Any, app: App, request: Any
) -> None:
    project, event = heron_event(
        app, f"Event-level herons {request.node.callspec.id}", latitude=50.85, longitude=4.35
    )
    # The detector's "animal" mapped onto the grey heron: GBIF takes no animal without a name,
    # so an unmapped one is left out of the event level.
    taxa = {"file": ("taxa.csv", io.BytesIO(TAXA_CSV.encode()), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=taxa))
    search = app.api("GET", f"/projects/{project}/taxa/search", params={"q": "Ardea"})
    (heron_taxon,) = [t["id"] for t in ok_json(search) if t["scientific_name"] == "Ardea cinerea"]
    mapped = app.api(
        "POST", f"/projects/{project}/labels", json={"label": "animal", "taxon_id": heron_taxon}
    )
    ok_json(mapped)
    sign_in(page, app)
    exports = f"{app.url}/projects/{project}/exports"
    page.goto(exports)

    # The event level is for Camtrap DP only: asked of a CSV export, the field says so and
    # what was chosen stays.
    page.select_option("#e-format", "csv")
    page.select_option("#e-level", "event")
    page.click("#start-export button[type=submit]")
    error = page.locator("#observation_level-error")
    assert "only a camtrap-dp export has an event level" in error.inner_text()
    assert page.input_value("#e-format") == "csv"
    assert page.input_value("#e-level") == "event"

    page.select_option("#e-format", "camtrap-dp")
    page.click("#start-export button[type=submit]")
    page.wait_for_url(exports)
    row = page.locator("tr.export-item").first
    assert "observation level event" in row.inner_text()
    link = row.locator("a.download")
    link.wait_for(state="visible", timeout=EXPORT_TIMEOUT_MS)
    package = page.request.get(app.url + link.get_attribute("href"))
    assert package.ok, package.status
    with zipfile.ZipFile(io.BytesIO(package.body())) as archive:
        text = archive.read("observations.csv").decode("utf-8-sig")
    observations = list(csv.DictReader(io.StringIO(text)))
    assert [o["observationLevel"] for o in observations] == ["event"]
    (heron,) = observations
    assert heron["observationType"] == "animal"
    assert heron["scientificName"] == "Ardea cinerea"
    assert heron["count"] == "1"  # one individual in ten photos
    assert heron["eventID"] == str(event)
