"""The refit form in Chromium at 1366 x 768 for a pipeline that gives no features: a person
picks the pipeline's boxes described by trapline, types a name and refits; the refit's page
follows the fit, says it read trapline's crop descriptors rather than a model's features, and
shows its cross-validated figures per taxon (decision 074)."""

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


def test_a_person_refits_on_crops_where_the_pipeline_gives_no_features(
    laptop: Any, app: App
) -> None:
    project, detections = refit_nights(app, "Moths by colour", crops=True)
    identify_nights(app, project, detections, range(NIGHTS))

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{project}/classifiers")
    page.fill("#r-name", "Herons by their colour")
    page.select_option("#r-features", PIPELINE_SLUG)
    page.click("#new-refit button[type=submit]")
    # The pipeline posted no vector: said beside the field, the name kept.
    error = page.locator("#features_from-error")
    assert "at least 5 identified individuals" in error.inner_text()
    assert page.input_value("#r-name") == "Herons by their colour"

    page.select_option("#r-features", label=f"{PIPELINE_SLUG}'s boxes, described by trapline "
                       "(colour, pattern, size)")  # fmt: skip
    page.click("#new-refit button[type=submit]")
    page.wait_for_url(re.compile(r".*/classifiers/\d+$"))
    page.locator("#refit-taxa").wait_for(timeout=FIT_MS)
    assert page.inner_text("#refit-status") == "fitted"
    said = page.inner_text("#refit-crops")
    assert f"trapline's own crop descriptors of the boxes of {PIPELINE_SLUG}" in said
    assert "not a model's features" in said
    assert "Cross-validated accuracy 1.00 over 4 folds" in page.inner_text("#refit-summary")
    rows = page.locator("#refit-taxa tbody tr")
    assert [rows.nth(n).inner_text().split("\t")[0] for n in range(rows.count())] == [
        "Ardea cinerea",
        "Ardea alba",
    ]
    assert f"{PIPELINE_SLUG}-crops-refit" in page.inner_text("#promote-hint")
