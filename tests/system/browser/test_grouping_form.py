"""Groups of unknown individuals in Chromium at 1366 x 768: from the refits page a person
opens the groupings, asks for nights with no individual and is told so beside "Features
from" with what they typed kept; then groups the nine nights' unknown moths, reads each group
as crops with its size and tightness, names the first group by typing a taxon and picking the
suggestion, and sees its individuals identified."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.support.browser import App, sign_in
from tests.support.browser_scenes import SUGGESTION_MS, refit_nights
from tests.support.protocol import PIPELINE_SLUG
from tests.support.refit_scene import night_taxon

pytestmark = pytest.mark.slow

#: Milliseconds the grouping may take on a loaded machine.
GROUP_MS = 90_000


def test_a_person_groups_the_unknown_moths_and_names_a_group(
    laptop: Any, app: App, tmp_path: Path
) -> None:
    project, detections = refit_nights(app, "Unknown moths")
    night_of = {box: night for night, box in enumerate(detections)}

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/classifiers")
    page.click("#groupings-link")
    page.wait_for_url(f"{app.url}/projects/{project}/groupings")
    page.select_option("#g-features", PIPELINE_SLUG)
    page.fill("#g-since", "2024-04-01")
    page.fill("#g-name", "Sheet unknowns")
    page.click("#new-grouping button[type=submit]")
    error = page.locator("#features_from-error")
    assert "grouping needs at least 3 unidentified individuals" in error.inner_text()
    assert "the project from the night of 2024-04-01 has 0" in error.inner_text()
    assert page.input_value("#g-name") == "Sheet unknowns"
    assert page.input_value("#g-since") == "2024-04-01"

    page.fill("#g-since", "")
    page.click("#new-grouping button[type=submit]")
    page.wait_for_url(re.compile(r".*/groupings/\d+$"))
    # The page follows the grouping and loads itself again once it is done.
    page.locator("#group-1").wait_for(timeout=GROUP_MS)
    assert page.inner_text("#grouping-status") == "done"
    assert page.inner_text("#groups-title") == "2 groups, 1 individuals ungrouped"
    facts = page.inner_text("#group-1 .group-facts")
    assert re.fullmatch(r"4 individuals, tightness 0\.[7-9]\d, 4 still unidentified", facts), facts
    crops = page.locator("#group-1 img.thumb")
    expect(crops).to_have_count(4)
    boxes = [int(re.findall(r"/annotations/(\d+)/crop", crops.nth(n).get_attribute("src") or "")[0])
             for n in range(4)]  # fmt: skip
    (taxon,) = {night_taxon(night_of[b]) for b in boxes}
    expect(page.locator("#ungrouped img.thumb")).to_have_count(1)
    # The figure of docs/evaluation.md (with TRAPLINE_SCREENSHOTS=docs/images).
    shots = Path(os.environ.get("TRAPLINE_SCREENSHOTS") or tmp_path)
    page.screenshot(path=str(shots / "web-groups-of-unknowns.png"), full_page=True)

    picker = page.get_by_role("combobox", name=re.compile("Taxon for the group's 4"))
    picker.first.press_sequentially(taxon.lower()[:7], delay=30)
    option = page.get_by_role("option", name=re.compile(rf"^{taxon} \(species\)"))
    option.wait_for(timeout=SUGGESTION_MS)
    option.click()
    page.fill("#group-1-comment", "one sheet, one kind")
    page.get_by_role("button", name="Name group 1").click()
    page.wait_for_url(re.compile(r".*/groupings/\d+\?named=4#group-1$"))
    expect(page.locator("#grouping-named")).to_have_text("4 individuals identified.")
    assert "0 still unidentified" in page.inner_text("#group-1 .group-facts")
    expect(page.locator("#name-group-1")).to_have_count(0)
    grouping = page.url.split("?")[0]
    crops = page.locator("#group-1 img.thumb")
    crops.first.click()
    page.wait_for_url(re.compile(r".*/occurrences/\d+$"))
    expect(page.locator("#determination")).to_contain_text(taxon)
    expect(page.locator("#identifications")).to_contain_text("one sheet, one kind")
    # Both pages read well with assistive technology (no serious axe violation).
    from axe_playwright_python.sync_playwright import Axe

    for path in (f"{app.url}/projects/{project}/groupings", grouping):
        page.goto(path)
        found = Axe().run(page).response["violations"]
        serious = [
            (v["id"], v["nodes"][0]["target"])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], path
