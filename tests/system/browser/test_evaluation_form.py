"""The evaluation-set form in Chromium at 1366 x 768: a person names a set and the taxa they
type, a taxon mistyped comes back named beside its field with what was typed kept, and the set
frozen shows the imported version scored against the heron a person identified."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, heron_event, ok_json, sign_in

pytestmark = pytest.mark.slow

TAXA = (
    "scientific_name,rank,parent\n"
    "Ardeidae,family,\nArdea,genus,Ardeidae\nArdea cinerea,species,Ardea\n"
)


def test_a_person_freezes_a_set_and_sees_a_version_scored(laptop: Any, app: App) -> None:
    project, event = heron_event(app, "Evaluated herons")
    files = {"file": ("taxa.csv", TAXA.encode(), "text/csv")}
    ok_json(app.api("POST", f"/projects/{project}/taxa", files=files))
    (heron,) = ok_json(
        app.api("GET", f"/projects/{project}/taxa/search", params={"q": "Ardea cin"})
    )
    (bird,) = ok_json(app.api("GET", f"/events/{event}/occurrences"))["results"]
    body = {"taxon_id": heron["id"]}
    ok_json(app.api("POST", f"/occurrences/{bird['id']}/identifications", json=body), 201)

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/evaluation")
    page.fill("#v-name", "Grey herons of the stream")
    page.fill("#v-taxa", "Ardea cinera")  # mistyped
    page.click("#new-evaluation-set button[type=submit]")
    error = page.locator("#taxa-error")
    assert "taxa: not in the project's taxa list: 'Ardea cinera'" in error.inner_text()
    assert page.get_attribute("#v-taxa", "aria-invalid") == "true"
    assert page.input_value("#v-name") == "Grey herons of the stream"
    assert page.input_value("#v-taxa") == "Ardea cinera"

    page.fill("#v-taxa", "Ardea cinerea")
    page.click("#new-evaluation-set button[type=submit]")
    page.wait_for_url(re.compile(r".*/evaluation-sets/\d+$"))
    assert "1 identified boxes" in page.locator("#set-summary").inner_text()
    # The newest (only) version scored: the bird is seen, and "animal" names no taxon.
    seen = page.locator("#overall td[data-kind=seen]").inner_text()
    assert seen == "1 of 1"
    assert page.locator("#overall td[data-kind=accuracy]").inner_text() == "0.00"
    assert "animal (no taxon)" in page.locator(".confusion").inner_text()
    (made,) = ok_json(app.api("GET", f"/projects/{project}/evaluation-sets"))["results"]
    assert (made["name"], made["size"], made["taxa"]) == (
        "Grey herons of the stream",
        1,
        ["Ardea cinerea"],
    )
    # Both pages read well with assistive technology (no serious axe violation).
    from axe_playwright_python.sync_playwright import Axe

    for path in (page.url, f"{app.url}/projects/{project}/evaluation"):
        page.goto(path)
        found = Axe().run(page).response["violations"]
        serious = [
            (v["id"], v["nodes"][0]["target"])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], path
