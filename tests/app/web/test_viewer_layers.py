"""The viewer's layers (segmentations, masks, heatmaps, keypoints an external pipeline posted),
whole-photo results, the analysis page, and the reading of COCO run-length encodings."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from pycocotools import mask as coco_mask

from tests.support.accounts import Account
from tests.support.app_client import AppClient
from tests.support.callbacks import SECRET, Pipeline, create_analysis
from tests.support.web import Browser
from trapline.client.simulation import gray_png
from trapline.domain.processing.rle import MAX_GROUPS, iter_counts
from trapline.web.layers import HEAT_RAMPS, MAX_RUNS, heat_tables, rle_path

#: The server holds the callback API's global secret, as the callback tests' servers do.
pytestmark = pytest.mark.settings(ml_callback_hmac_secret=SECRET)

HEAT = gray_png(32, 24, lambda x, y: 8 * x)
MASK = gray_png(32, 24, lambda x, y: 255 if 8 <= x < 24 and 6 <= y < 18 else 0)


def _runs(mask: np.ndarray) -> list[int]:
    """COCO's uncompressed counts of a mask: runs down each column, zeros first."""
    flat = mask.flatten(order="F")
    counts, current, run = [], 0, 0
    for value in flat:
        if value != current:
            counts.append(run)
            current, run = value, 0
        run += 1
    counts.append(run)
    return counts


def _painted(path: str, height: int, width: int) -> np.ndarray:
    """The pixels an rle_path path covers."""
    found = np.zeros((height, width), dtype=np.uint8)
    for x, y, n in re.findall(r"M(\d+) (\d+)h1v(\d+)h-1z", path):
        found[int(y) : int(y) + int(n), int(x)] = 1
    return found


@pytest.mark.parametrize("seed", range(6))
def test_rle_strings_read_as_pycocotools_writes_them(seed: int) -> None:
    rng = np.random.default_rng(seed)
    height, width = int(rng.integers(1, 60)), int(rng.integers(1, 60))
    mask = (rng.random((height, width)) < rng.uniform(0.05, 0.95)).astype(np.uint8)
    encoded = coco_mask.encode(np.asfortranarray(mask))
    counts = list(iter_counts(encoded["counts"].decode("ascii")))
    assert counts == _runs(mask)
    assert list(iter_counts(counts)) == counts  # the list form is taken as it is
    path = rle_path(counts, height)
    assert path is not None
    assert (_painted(path, height, width) == mask).all()


def test_a_mask_with_too_many_runs_is_not_drawn_as_a_path() -> None:
    stripes = [1, 1] * 50  # fifty one-pixel runs
    assert rle_path(stripes, 10, max_runs=50) is not None
    assert rle_path(stripes, 10, max_runs=49) is None


@pytest.mark.parametrize(
    ("bad", "why"), [("0 ", "not a count character"), ("0p", "not a count"), ("1P", "ends inside")]
)
def test_unreadable_rle_strings_are_refused(bad: str, why: str) -> None:
    with pytest.raises(ValueError, match=why):
        list(iter_counts(bad))


class Counted(str):
    """A counts string that tallies how many of its characters were read."""

    read = 0

    def __getitem__(self, index: Any) -> str:
        Counted.read += 1
        return str.__getitem__(self, index)


@pytest.mark.parametrize(
    "counts",
    [
        "1" * 10_000_000,  # ten million one-pixel runs, 10 MB
        "0" * 10_000_000,  # ten million empty runs: no rectangle at all
        "o" * 10_000_000,  # one count continued for ever
    ],
)
def test_a_10_mb_counts_string_is_drawn_reading_a_bounded_part_of_it(counts: str) -> None:
    """Masks stored before their counts were checked: a page reads at most what ``MAX_RUNS``
    rectangles need (or the groups of one count), never the whole string."""
    Counted.read = 0
    try:
        path = rle_path(Counted(counts), 100)
    except ValueError:
        path = None
    assert path is None  # shown as its box instead
    assert Counted.read <= max(2 * MAX_RUNS + 2, MAX_GROUPS)


def test_heat_tables_run_from_the_first_colour_to_the_last() -> None:
    red, green, blue = heat_tables("viridis")
    assert red.split()[0] == f"{0x44 / 255:.3f}"
    assert blue.split()[-1] == f"{0x25 / 255:.3f}"
    assert all(len(t.split()) == len(HEAT_RAMPS["viridis"]) for t in (red, green, blue))


def _artifact(pipeline: Pipeline, client: AppClient, aid: int, kind: str, data: bytes) -> str:
    link = pipeline.call(
        "POST", f"/analyses/{aid}/artifacts/presign", {"artifact_type": kind, "filename": "x.png"}
    ).json()
    put = client.put(link["upload_url"], content=data, headers={"Content-Type": "image/png"})
    assert put.status_code == 201, put.text
    return str(link["storage_path"])


@pytest.fixture
def layered(client: AppClient, owner: Account, image_id: int, pipeline: Pipeline) -> dict[str, Any]:
    """An external pipeline's finished analysis of the 320 x 240 image, one item of each
    type."""
    created = create_analysis(client, owner, image_id)
    assert created.status_code == 201, created.text
    aid = created.json()["id"]
    heat = _artifact(pipeline, client, aid, "heatmap", HEAT)
    mask = _artifact(pipeline, client, aid, "mask", MASK)
    square = np.zeros((240, 320), dtype=np.uint8)
    square[100:110, 50:60] = 1
    compressed = coco_mask.encode(np.asfortranarray(square))["counts"].decode("ascii")
    items: list[dict[str, Any]] = [
        {"annotation_type": "bounding_box", "class_name": "moth", "confidence": 0.9, "data": {
            "x_min": 10, "y_min": 20, "x_max": 60, "y_max": 80,
            "image_width": 320, "image_height": 240}},
        {"annotation_type": "segmentation", "class_name": "moth", "data": {
            "format": "rle", "counts": compressed, "bbox": [50, 100, 10, 10], "area": 100,
            "size": [240, 320]}},
        {"annotation_type": "segmentation", "class_name": "wing", "data": {
            "format": "rle", "counts": [240 * 5 + 7, 3], "bbox": [5, 7, 1, 3], "area": 3}},
        {"annotation_type": "heatmap", "storage_path": heat,
         "data": {"width": 32, "height": 24, "color_map": "magma"}},
        {"annotation_type": "mask", "storage_path": mask, "data": {"width": 32, "height": 24}},
        {"annotation_type": "keypoint", "class_name": "moth", "data": {
            "keypoints": [{"name": "head", "x": 30, "y": 30, "confidence": 0.8},
                          {"name": "tail", "x": 40, "y": 60}], "skeleton": [[0, 1]]}},
        {"annotation_type": "classification", "class_name": "Noctuidae", "confidence": 0.7,
         "data": {"score": 0.7}},
        {"annotation_type": "custom", "data": {"note": "<b>sheet</b> wet"}},
    ]  # fmt: skip
    posted = pipeline.call(
        "POST", f"/analyses/{aid}/annotations:bulk", {"annotations": items, "mode": "append"}
    )
    assert posted.status_code == 200, posted.text
    ids = {
        a["annotation_type"] + (a.get("class_name") or ""): a["id"]
        for a in posted.json()["annotations"]
    }
    done = pipeline.call("POST", f"/analyses/{aid}/finalize", {"status": "completed"})
    assert done.status_code == 200, done.text
    return {"analysis": aid, "image": image_id, "ids": ids}


def test_the_viewer_draws_every_layer(
    sign_in: Callable[[Account], Browser], owner: Account, layered: dict[str, Any]
) -> None:
    browser = sign_in(owner)
    page = browser.page(f"/images/{layered['image']}")
    ids = layered["ids"]
    # The compressed RLE: a 10 x 10 square at x 50-59, y 100-109, one run per column.
    square = "".join(f"M{x} 100h1v10h-1z" for x in range(50, 60))
    assert f'd="{square}"' in page
    # The list form without a size: the image's own, so x 5, y 7, three pixels down.
    assert 'd="M5 7h1v3h-1z"' in page
    heat = re.search(rf'<image href="/annotations/{ids["heatmap"]}/layer"[^>]*>', page)
    assert heat
    assert 'filter="url(#heat-magma)"' in heat.group(0)
    assert 'width="320" height="240"' in heat.group(0)  # stretched over the whole photo
    assert '<filter id="heat-magma"' in page
    assert '<filter id="heat-viridis"' not in page
    mask = re.search(rf'<image href="/annotations/{ids["mask"]}/layer"[^>]*>', page)
    assert mask
    assert 'filter="url(#tint-mask)"' in mask.group(0)
    assert '<line x1="30.0" y1="30.0" x2="40.0" y2="60.0">' in page
    assert page.count("<circle ") == 2
    assert "<title>head 0.80</title>" in page
    for toggle in ("Heatmaps", "Masks", "Segmentations", "Keypoints"):
        assert 'class="toggle-kind" value="' in page
        assert f"> {toggle}</label>" in page
    assert "Noctuidae" in page  # the whole-photo classification
    assert "<b>sheet</b>" not in page  # custom data shown as text
    assert f'href="/analyses/{layered["analysis"]}"' in page
    assert 'class="det' in page  # the box is drawn as before


def test_mask_and_heatmap_files_come_through_their_layer_link(
    sign_in: Callable[[Account], Browser], owner: Account, layered: dict[str, Any]
) -> None:
    browser = sign_in(owner)
    for kind, data in (("mask", MASK), ("heatmap", HEAT)):
        hop = browser.client.get(
            f"/annotations/{layered['ids'][kind]}/layer", follow_redirects=False
        )
        assert hop.status_code == 307
        got = browser.client.get(hop.headers["location"])
        assert got.status_code == 200
        assert got.content == data
        assert got.headers["content-type"] == "image/png"
    box = browser.client.get(f"/annotations/{layered['ids']['bounding_boxmoth']}/layer")
    assert box.status_code == 404  # a box has no file


def test_the_analysis_page_shows_what_the_pipeline_sent(
    sign_in: Callable[[Account], Browser], owner: Account, layered: dict[str, Any]
) -> None:
    browser = sign_in(owner)
    page = browser.page(f"/analyses/{layered['analysis']}")
    assert "moth-detector 1.2.0" in page
    assert "completed" in page
    assert "&#34;git&#34;: &#34;abc123&#34;" in page or '"git": "abc123"' in page
    assert "1 bounding box" in page
    assert "2 segmentation" in page
    assert "1 custom" in page
    artifacts = re.findall(rf'href="(/analyses/{layered["analysis"]}/artifacts/\d+)"', page)
    assert len(artifacts) == 2
    got = browser.client.get(artifacts[0])
    assert got.status_code == 200
    assert got.content in (HEAT, MASK)
    assert "<b>sheet</b>" not in page


def test_analysis_pages_of_other_projects_answer_like_missing_ones(
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
    layered: dict[str, Any],
) -> None:
    stranger = sign_in(make_account("stranger"))
    scrub = re.compile(r"\d{3,}|\b\d+\b")
    aid, mask = layered["analysis"], layered["ids"]["mask"]
    for foreign, missing in (
        (f"/analyses/{aid}", f"/analyses/{10**9}"),
        (f"/analyses/{aid}/artifacts/1", f"/analyses/{10**9}/artifacts/1"),
        (f"/annotations/{mask}/layer", f"/annotations/{10**9}/layer"),
    ):
        theirs = stranger.client.get(foreign, follow_redirects=False)
        nothing = stranger.client.get(missing, follow_redirects=False)
        assert theirs.status_code == nothing.status_code == 404, foreign
        assert scrub.sub("N", theirs.text) == scrub.sub("N", nothing.text), foreign
