"""A run's own threshold (``params.settings.threshold``) means the same everywhere a box is held
against a threshold (``db/run_threshold.py``): tracking counts, the viewer and the grid show, the
review queues put first, and an evaluation set's scoring finds the boxes of that run at or over
it, and hides, puts last and misses those under it, whatever the pipeline's default (both
databases).

The MegaDetector export names the run's threshold as the file's (MegaDetector's tools read it).

The scene: one photo, one run of a pipeline of default threshold ``default`` with the job's own
``own`` (None: none set), finding a sure box (0.9) and a weak one (0.3)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import pytest

from tests.support.accounts import Account
from tests.support.evaluation_scene import new_set, scores
from tests.support.exports import Seeded
from tests.support.protocol import PIPELINE_SLUG, detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_post
from tests.support.scenes import (
    TAXA_CSV,
    add_frames,
    event_of,
    find_taxon,
    import_taxa,
    new_deployment,
    occurrences_of,
    track_all,
)
from tests.support.web import Browser

#: (pipeline's default, the run's own, whether the weak box at 0.3 counts).
CASES = [
    pytest.param(0.5, 0.2, True, id="run-lower-than-default"),
    pytest.param(0.5, None, False, id="default-only"),
    pytest.param(0.2, 0.8, False, id="run-higher-than-default"),
]


@dataclass(frozen=True)
class Scene:
    deployment: int
    photo: int
    job: int
    sure: int
    weak: int


def _scene(proto: Protocol, default: float, own: float | None, *, tracked: bool = True) -> Scene:
    assert proto.register(pipeline_config(default_threshold=default)).status_code in (200, 201)
    trap = new_deployment(proto, "Sheet")
    (photo,) = add_frames(proto, trap, 1, timedelta(seconds=10), size=(160, 120))
    settings = {"settings": {"threshold": own}} if own is not None else {}
    job = proto.job_that_runs(params={"max_attempts": 1, **settings})
    (task,) = proto.claim(job["id"], 1)
    sure = {**detection(task, bbox=(10, 12, 60, 70), scores=[0.9, 0.05, 0.05]), "score": 0.9}
    weak = {**detection(task, bbox=(90, 20, 140, 80), scores=[0.3, 0.4, 0.3]), "score": 0.3}
    assert [a["status"] for a in proto.post(job["id"], success(task, sure, weak))] == ["saved"]
    if tracked:
        track_all(proto)
    found = proto.client.get(
        f"/api/v2/projects/{proto.project_id}/annotations",
        params={"type": "bounding_box", "limit": 10},
        headers=proto.headers,
    ).json()["results"]
    by_corner = {round(a["bbox"]["x1"]): int(a["id"]) for a in found}
    return Scene(trap, photo, int(job["id"]), by_corner[10], by_corner[90])


@pytest.mark.parametrize(("default", "own", "counts"), CASES)
def test_tracking_counts_the_boxes_at_or_over_their_runs_threshold(
    proto: Protocol, default: float, own: float | None, counts: bool
) -> None:
    scene = _scene(proto, default, own)
    assert len(occurrences_of(proto, event_of(proto, scene.deployment))) == (2 if counts else 1)


@pytest.mark.parametrize(("default", "own", "counts"), CASES)
def test_the_viewer_and_the_grid_show_the_boxes_at_or_over_their_runs_threshold(
    proto: Protocol,
    sign_in: Callable[[Account], Browser],
    default: float,
    own: float | None,
    counts: bool,
) -> None:
    # Before its event is tracked, a grid tile counts the boxes the viewer shows; after, those
    # its occurrences hold.
    scene = _scene(proto, default, own, tracked=False)
    browser = sign_in(proto.account)
    assert _tile(browser, proto, scene) == ("2" if counts else "1")
    track_all(proto)
    assert _tile(browser, proto, scene) == ("2" if counts else "1")
    viewer = browser.page(f"/images/{scene.photo}")
    heading = "Detections (2)" if counts else "Detections (1, and 1 under the threshold)"
    assert heading in viewer
    drawn = re.findall(r'<g class="det( below)?" data-id="(\d+)"', viewer)
    assert len(drawn) == 2
    below = {int(box) for flag, box in drawn if flag}
    assert below == (set() if counts else {scene.weak})


def _tile(browser: Browser, proto: Protocol, scene: Scene) -> str:
    """How many detections the grid's tile of the scene's photo says it holds."""
    grid = browser.page(f"/projects/{proto.project_id}/images")
    tile = re.search(
        rf'<a href="/images/{scene.photo}[^"]*">.*?data-detections="(\d*)"', grid, re.S
    )
    assert tile is not None
    return tile.group(1)


def _queue(html: str) -> list[tuple[float, bool]]:
    """(confidence, marked under the threshold) of each row of a review queue page."""
    rows = re.findall(r'<tr( class="under-threshold")?>\s*<td><img class="crop"', html)
    confidences = [float(c) for c in re.findall(r'<td class="num">(\d\.\d\d)', html)]
    return list(zip(confidences, [bool(r) for r in rows], strict=True))


@pytest.mark.parametrize(("default", "own", "counts"), CASES)
def test_the_review_queues_put_the_boxes_under_their_runs_threshold_last(
    proto: Protocol,
    sign_in: Callable[[Account], Browser],
    default: float,
    own: float | None,
    counts: bool,
) -> None:
    scene = _scene(proto, default, own)
    browser = sign_in(proto.account)
    expected = [(0.9, False), (0.3, not counts)]
    assert _queue(browser.page(f"/projects/{proto.project_id}/review")) == expected
    assert _queue(browser.page(f"/projects/{proto.project_id}/review?job={scene.job}")) == expected


@pytest.mark.parametrize(("default", "own", "counts"), CASES)
def test_an_evaluation_finds_the_boxes_at_or_over_their_runs_threshold(
    proto: Protocol, default: float, own: float | None, counts: bool
) -> None:
    """A person identified the sure box and confirmed the weak one: both are true boxes; the
    version finds the weak one only when its run counts it."""
    scene = _scene(proto, default, own)
    assert import_taxa(proto, TAXA_CSV).status_code == 200
    taxon = find_taxon(proto, "Ardea cinerea")
    api_post(proto, f"/annotations/{scene.sure}/identifications", {"taxon_id": taxon}, 201)
    api_post(proto, f"/annotations/{scene.weak}/reviews", {"verdict": "confirm"}, 201)
    made = new_set(proto, "Sheet")
    boxes = scores(proto, made["id"], PIPELINE_SLUG, 1)["boxes"]
    found = (boxes["true_positives"], boxes["false_positives"], boxes["misses"])
    assert found == ((2, 0, 0) if counts else (1, 0, 1))


@pytest.mark.parametrize(("default", "own", "counts"), CASES)
def test_the_megadetector_export_gives_the_runs_threshold_as_the_files(
    proto: Protocol, default: float, own: float | None, counts: bool
) -> None:
    _scene(proto, default, own, tracked=False)
    seeded = Seeded(proto, proto.project_id, {}, {}, {})

    done = seeded.export(format="megadetector")

    assert done["status"] == "succeeded", done
    info = json.loads(seeded.download(done["id"]))["info"]
    threshold = own if own is not None else default
    assert info["detector_metadata"]["typical_detection_threshold"] == threshold
    assert info["trapline"]["thresholds"] == {f"{PIPELINE_SLUG} v1": threshold}
