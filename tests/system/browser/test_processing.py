"""The Processing page in a browser: every built-in pipeline with its state on the server, and
for MegaDetector without its weights the files to download (links), their MD5s and the folder;
a checkpoint put in that folder makes it ready on the next look."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from tests.support.browser import App, sign_in
from trapline.pipelines.megadetector import RELEASES

CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"


def test_the_processing_page_says_which_built_in_pipelines_are_ready(page: Any, app: App) -> None:
    sign_in(page, app)
    page.goto(f"{app.url}/projects/{app.demo_project}/processing")
    table = page.get_by_role("table").filter(has_text="To make it ready")
    states = {
        row.get_attribute("data-slug"): row.get_attribute("data-state")
        for row in table.locator("tbody tr").all()
    }
    assert states == {
        "trapline-constant": "ready",
        "trapline-random": "ready",
        "moth-blobs": "ready",
        "megadetector": "needs_weights",
    }
    row = table.locator('tr[data-slug="megadetector"]')
    assert row.get_by_role("cell").nth(1).inner_text() == "needs its weights"
    for release in RELEASES:
        link = row.get_by_role("link", name=release.file_name)
        assert link.get_attribute("href") == release.url
        assert release.md5 in row.inner_text()
    assert str(app.weights) in row.inner_text()

    checkpoint = app.weights / "md_v5a.0.1.pt"
    app.weights.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CHECKPOINT, checkpoint)
    try:
        page.reload()
        row = page.locator('#builtin-pipelines tr[data-slug="megadetector"]')
        assert row.get_attribute("data-state") == "ready"
        assert "md_v5a.0.1.pt is converted to ONNX when a worker first loads it" in (
            row.inner_text()
        )
    finally:
        checkpoint.unlink()
