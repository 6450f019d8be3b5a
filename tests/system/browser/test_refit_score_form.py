"""A refit scored against an evaluation set in Chromium at 1366 x 768: on a fitted refit's
page a person chooses one of the project's sets and presses Score, and reads the refit's
accuracy beside its model's, how many of the set it was fitted on, and the per-taxon table
side by side."""

from __future__ import annotations

from typing import Any

import pytest

from tests.support.browser import App, ok_json, sign_in
from tests.support.browser_scenes import identify_nights, refit_nights
from tests.support.protocol import PIPELINE_SLUG
from tests.support.refit_scene import NIGHTS
from tests.support.waiting import wait_until

pytestmark = pytest.mark.slow

#: Seconds the refit may take to be fitted on a loaded machine.
FIT_SECONDS = 90.0


def _fitted(app: App, refit: int) -> bool:
    return bool(ok_json(app.api("GET", f"/classifiers/{refit}"))["status"] == "fitted")


def test_a_person_scores_a_refit_on_a_set_and_reads_it_beside_the_model(
    laptop: Any, app: App
) -> None:
    project, detections = refit_nights(app, "Scored refit")
    identify_nights(app, project, detections, range(NIGHTS))
    body = {"name": "Herons", "features_from": PIPELINE_SLUG}
    refit = ok_json(app.api("POST", f"/projects/{project}/classifiers", json=body), 202)["id"]
    wait_until(lambda: _fitted(app, refit), f"refit {refit} fitted", timeout=FIT_SECONDS)
    for name in ("Older", "Nine nights"):
        path = f"/projects/{project}/evaluation-sets"
        ok_json(app.api("POST", path, json={"name": name}), 201)

    page = laptop
    sign_in(page, app)
    page.goto(f"{app.url}/classifiers/{refit}")
    page.select_option("#score-set", label="Older (9 identified boxes)")
    page.select_option("#score-set", label="Nine nights (9 identified boxes)")
    page.click("#refit-score-form button[type=submit]")
    page.locator("#refit-vs-model").wait_for()

    assert "set=" in page.url
    chosen = page.locator("#score-set option:checked").inner_text()
    assert chosen == "Nine nights (9 identified boxes)"
    rows = page.locator("#refit-vs-model tbody tr")
    overall = [rows.nth(n).inner_text().split("\t") for n in range(rows.count())]
    assert overall[1] == ["Accuracy (top-1)", "0.89", "0.00"]
    assert overall[3][:2] == ["Accuracy on boxes it was not fitted on", "0.00"]
    in_fit = page.inner_text("#refit-in-fit")
    assert "8 of the set's 9 identified boxes were fitted on; 1 were not" in in_fit
    assert "flatter the refit" in in_fit
    taxa = page.locator("#refit-score-taxa tbody tr")
    names = sorted(taxa.nth(n).inner_text().split("\t")[0] for n in range(taxa.count()))
    assert names == ["Ardea alba", "Ardea cinerea", "Egretta garzetta"]
    # The table fits the laptop's width: nothing to scroll sideways.
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 1366
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page).response["violations"]
    serious = [
        (v["id"], v["nodes"][0]["target"]) for v in found if v["impact"] in ("serious", "critical")
    ]
    assert serious == []
