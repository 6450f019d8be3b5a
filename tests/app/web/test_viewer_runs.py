"""After a re-run or a newer version, the viewer shows the current run of each pipeline (and
reviews land on its boxes); older runs stay, listed by version and date and drawn on request."""

from __future__ import annotations

import re
from collections.abc import Callable

from tests.support.accounts import Account
from tests.support.protocol import LABELS, detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.web import Browser


def _run(proto: Protocol, image_id: int, boxes: list[tuple[str, tuple[float, ...]]]) -> None:
    """A job of the newest registered version over the photo, posting these boxes."""
    job = proto.job_that_runs(params={"max_attempts": 1, "reprocess": True})
    (task,) = [t for t in proto.claim(job["id"], 10) if int(t["image_id"]) == image_id]
    shown = []
    for label, box in boxes:
        scores = [0.05] * len(LABELS)
        scores[LABELS.index(label)] = 0.9
        shown.append(detection(task, bbox=box, label=label, scores=scores))
    assert [a["status"] for a in proto.post(job["id"], success(task, *shown))] == ["saved"]


def _listed(page: str) -> set[int]:
    """The detections the list offers for review (current runs)."""
    listed = page.split('<ol class="annotations">')[1].split("</ol>")[0]
    return {int(i) for i in re.findall(r'<li id="a(\d+)"', listed)}


def _drawn_older(page: str) -> set[int]:
    return {int(i) for i in re.findall(r'<g class="det older" data-id="(\d+)"', page)}


def test_the_viewer_shows_the_current_run_and_lists_older_ones(
    proto: Protocol, sign_in: Callable[[Account], Browser]
) -> None:
    (image,) = proto.images(1)
    assert proto.register(pipeline_config(version=1)).status_code in (200, 201)
    _run(proto, image, [("moth", (10, 10, 50, 50)), ("fly", (60, 10, 100, 50))])
    browser = sign_in(proto.account)
    first = browser.page(f"/images/{image}")
    run_one = _listed(first)
    assert len(run_one) == 2
    assert 'id="older-runs"' not in first
    assert not _drawn_older(first)

    # A re-run of the same version: its boxes are shown; the first run's are older.
    _run(proto, image, [("beetle", (20, 20, 70, 70))])
    again = browser.page(f"/images/{image}")
    run_two = _listed(again)
    assert len(run_two) == 1
    assert not run_two & run_one
    assert _drawn_older(again) == run_one
    older = again.split('id="older-runs"')[1].split("</details>")[0]
    assert "Older runs (1)" in older
    assert "moth-test v1" in older
    assert "2 detections (moth, fly)" in older
    assert 'id="toggle-older"' in again
    # The review panel holds a box of the current run.
    picked = re.search(r'name="annotation" id="r-annotation" value="(\d+)"', again)
    assert picked
    assert int(picked.group(1)) in run_two

    # A newer version: its run is current, both runs of version 1 are older.
    assert proto.register(pipeline_config(version=2)).status_code in (200, 201)
    _run(proto, image, [("fly", (30, 30, 80, 80))])
    newest = browser.page(f"/images/{image}")
    assert len(_listed(newest)) == 1
    assert _drawn_older(newest) == run_one | run_two
    older = newest.split('id="older-runs"')[1].split("</details>")[0]
    assert "Older runs (2)" in older
    assert older.index("1 detection (beetle)") < older.index("2 detections (moth, fly)")
