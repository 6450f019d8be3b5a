"""The detection scorer form in Chromium at 1366 x 768: with one night reviewed a person's scorer
comes back with what is missing beside the name they typed; with three nights reviewed, the
scorer's page follows the fit, shows moth-blobs as it comes against the scorer on nights it never
saw, and a person promotes it, which runs it over the project's photos."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.support.browser import App, sign_in
from tests.support.scorer_browser_scene import review_nights, stained_nights
from tests.support.scorer_scene import MOTHS

pytestmark = pytest.mark.slow

#: Milliseconds the fit, and the promoted job, may take on a loaded machine.
FIT_MS = 120_000


def test_a_person_teaches_moth_blobs_from_box_reviews_and_promotes_it(
    laptop: Any, app: App
) -> None:
    project, boxes = stained_nights(app, "Stained sheet", 3)
    review_nights(app, boxes, range(1), MOTHS)  # one night: too few

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/evaluation")
    page.click("#refits-link a[href$='/detection-scorers']")
    page.wait_for_url(f"{app.url}/projects/{project}/detection-scorers")
    page.fill("#s-name", "Stains are not moths")
    page.click("#new-scorer button[type=submit]")
    error = page.locator("#name-error")
    assert "too few box reviews" in error.inner_text()
    assert "people confirmed or drew 5 boxes on photos of 1 nights" in error.inner_text()
    assert page.get_attribute("#s-name", "aria-invalid") == "true"
    assert page.input_value("#s-name") == "Stains are not moths"

    review_nights(app, boxes, range(1, 3), MOTHS)
    page.click("#new-scorer button[type=submit]")
    page.wait_for_url(re.compile(r".*/detection-scorers/\d+$"))
    # The page follows the fit and loads itself again once it is fitted.
    page.locator("#scorer-figures").wait_for(timeout=FIT_MS)
    assert page.inner_text("#scorer-status") == "fitted"
    summary = page.inner_text("#scorer-summary")
    assert "precision 0.56 → 1.00" in summary
    assert page.inner_text("#scorer-learnt").startswith("3 reviewed photos (3 with every box")
    before = page.locator("#scorer-figures tbody tr").first.inner_text().split("\t")
    assert before == ["moth-blobs as it comes", "15", "12", "0", "0.56", "1.00"]
    assert page.locator("#scorer-folds tbody tr").count() == 3
    assert "runs nowhere until a person promotes it" in page.inner_text("#scorer-not-used")
    scorer_page = page.url
    page.get_by_role("button", name="Promote").click()
    page.wait_for_url(re.compile(r".*/jobs/\d+$"))
    page.wait_for_selector("#job-status .status-succeeded", timeout=FIT_MS)
    page.goto(scorer_page)
    assert "promoted as moth-blobs-scorer v1" in page.inner_text("#scorer-promoted")
    assert page.locator("#promote-scorer").count() == 0
    page.click("h1 a")
    listed = page.locator("#scorers tbody tr").first.inner_text().split("\t")
    assert listed[:3] == ["Stains are not moths", "fitted", "0.56 → 1.00"]
    from axe_playwright_python.sync_playwright import Axe

    for path in (scorer_page, f"{app.url}/projects/{project}/detection-scorers"):
        page.goto(path)
        found = Axe().run(page).response["violations"]
        serious = [
            (v["id"], v["nodes"][0]["target"])
            for v in found
            if v["impact"] in ("serious", "critical")
        ]
        assert serious == [], path
