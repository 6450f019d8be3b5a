"""The refit form in Chromium at 1366 x 768: with too few identifications a person's refit
comes back with what is missing beside "Features from" and the name they typed kept; with
the nine nights identified, the refit's page follows the fit and shows it fitted with its
figures per taxon."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, sign_in
from tests.support.browser_scenes import identify_nights, refit_nights
from tests.support.protocol import PIPELINE_SLUG
from tests.support.refit_scene import NIGHTS

pytestmark = pytest.mark.slow

#: Milliseconds the refit may take to be fitted on a loaded machine.
FIT_MS = 90_000


def test_a_person_refits_from_identifications_and_sees_it_fitted(laptop: Any, app: App) -> None:
    project, detections = refit_nights(app, "Refitted moths")
    identify_nights(app, project, detections, range(3))  # two herons and an egret: too few

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/evaluation")
    page.click("#refits-link a")
    page.wait_for_url(f"{app.url}/projects/{project}/classifiers")
    page.fill("#r-name", "Herons of the sheet")
    page.select_option("#r-features", PIPELINE_SLUG)
    page.click("#new-refit button[type=submit]")
    error = page.locator("#features_from-error")
    assert "at least 5 identified individuals of at least 2 taxa" in error.inner_text()
    assert "Ardea cinerea: 2 individuals in 2 events" in error.inner_text()
    assert page.get_attribute("#r-features", "aria-invalid") == "true"
    assert page.input_value("#r-name") == "Herons of the sheet"
    assert page.input_value("#r-features") == PIPELINE_SLUG

    identify_nights(app, project, detections, range(3, NIGHTS))
    page.select_option("#r-features", PIPELINE_SLUG)
    page.click("#new-refit button[type=submit]")
    page.wait_for_url(re.compile(r".*/classifiers/\d+$"))
    # The page follows the fit and loads itself again once it is fitted.
    page.locator("#refit-taxa").wait_for(timeout=FIT_MS)
    assert page.inner_text("#refit-status") == "fitted"
    summary = page.inner_text("#refit-summary")
    assert "Cross-validated accuracy 1.00 over 4 folds" in summary
    assert "fitted on 8 identified individuals" in summary
    rows = page.locator("#refit-taxa tbody tr")
    assert [rows.nth(n).inner_text().split("\t") for n in range(rows.count())] == [
        ["Ardea cinerea", "4", "4", "1.00", "1.00"],
        ["Ardea alba", "4", "4", "1.00", "1.00"],
    ]
    assert "Egretta garzetta" in page.inner_text("#refit-too-few")
    assert "counts nowhere until a person promotes it" in page.inner_text("#refit-not-used")
    refit_page = page.url
    # Promoted, it runs at once over the test pipeline's boxes, run by the server itself.
    page.get_by_role("button", name="Promote").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    assert "Classifies the current boxes of moth-test" in page.inner_text("#job-boxes-from")
    page.wait_for_selector("#job-status .status-succeeded", timeout=FIT_MS)
    page.goto(refit_page)
    assert "promoted as moth-test-refit v1" in page.inner_text("#refit-promoted")
    assert page.locator("#promote-refit").count() == 0
    page.click("h1 a")
    listed = page.locator("#refits tbody tr").first.inner_text().split("\t")
    assert listed[:4] == ["Herons of the sheet", "fitted", "1.00", "8"]
    # Both pages read well with assistive technology (no serious axe violation).
    from axe_playwright_python.sync_playwright import Axe

    for path in (refit_page, f"{app.url}/projects/{project}/classifiers"):
        page.goto(path)
        found = Axe().run(page).response["violations"]
        serious = [
            (v["id"], v["nodes"][0]["target"])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], path
