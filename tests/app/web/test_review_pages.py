"""The review pages' server side: detection crops (sizes, keeping, access) and the grid's counts."""

from __future__ import annotations

import io
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from PIL import Image, ImageChops, ImageStat

from tests.support.accounts import Account, upload
from tests.support.app_client import AppClient
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol
from tests.support.statements import statements_sent
from tests.support.web import Browser
from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.services.photos.blob_cleanup import remove_unreferenced_blobs
from trapline.services.photos.crops import CROP_SIZE, crop_key

#: The photo the crops are cut from, and its boxes: one smaller than a crop, one larger.
WIDTH, HEIGHT = 800, 600
SMALL = (10.4, 12.0, 60.0, 70.6)
LARGE = (40.0, 30.0, 740.0, 530.0)


def _boxes(proto: Protocol, image: int) -> list[dict[str, Any]]:
    return [
        a
        for analysis in proto.image(image)["analyses"]
        for a in analysis["annotations"]
        if a["type"] == "bounding_box"
    ]


def _run(proto: Protocol, found: dict[int, list[dict[str, Any]]], **job: Any) -> None:
    """One job of the test pipeline whose worker finds ``found[image]`` on each image."""
    made = proto.job_that_runs(**job)
    tasks = proto.claim(made["id"], 50)
    proto.post(made["id"], *[success(t, *found.get(int(t["image_id"]), [])) for t in tasks])
    proto.wait(made["id"], {"succeeded"})


@pytest.fixture
def cropped(
    client: AppClient, owner: Account, project_id: int, jpeg: Callable[..., bytes]
) -> dict[str, Any]:
    """A project with one 800x600 photo and two boxes on it, a small one and a large one."""
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config()).status_code == 201
    photo = jpeg(7, width=WIDTH, height=HEIGHT)
    body = upload(client, owner, project_id, ("sheet.jpg", photo))
    image = body["results"][0]["id"]
    task = {"image_id": str(image)}
    _run(proto, {image: [detection(task, bbox=SMALL), detection(task, bbox=LARGE)]})
    boxes = {tuple(b["bbox"].values()): b["id"] for b in _boxes(proto, image)}
    classification = next(
        a["id"]
        for analysis in proto.image(image)["analyses"]
        for a in analysis["annotations"]
        if a["type"] == "classification"
    )
    return {
        "proto": proto,
        "image": image,
        "photo": photo,
        "small": boxes[SMALL],
        "large": boxes[LARGE],
        "classification": classification,
    }


def _crop(browser: Browser, annotation: int) -> Image.Image:
    hop = browser.client.get(f"/annotations/{annotation}/crop", follow_redirects=False)
    assert hop.status_code == 307, hop.text
    got = browser.client.get(hop.headers["location"])
    assert got.status_code == 200
    assert got.headers["content-type"] == "image/jpeg"
    return Image.open(io.BytesIO(got.content))


def test_a_crop_is_the_part_of_the_photo_inside_its_box(
    sign_in: Callable[[Account], Browser], owner: Account, cropped: dict[str, Any]
) -> None:
    browser = sign_in(owner)
    small = _crop(browser, cropped["small"])
    # The box's own size, out to the whole pixels its edges fall in: never enlarged.
    assert small.size == (50, 59)
    photo = Image.open(io.BytesIO(cropped["photo"])).convert("RGB")
    same = photo.crop((10, 12, 60, 71))
    difference = ImageStat.Stat(ImageChops.difference(small.convert("RGB"), same)).mean
    assert max(difference) < 6, difference  # the same pixels, re-encoded once
    large = _crop(browser, cropped["large"])
    # Larger boxes are shrunk to CROP_SIZE on their long side, keeping their shape.
    assert large.size == (CROP_SIZE, round(500 * CROP_SIZE / 700))


def test_a_crop_is_made_once_and_kept(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    cropped: dict[str, Any],
    app_db: Database,
) -> None:
    browser = sign_in(owner)
    first = _crop(browser, cropped["small"])
    with app_db.read() as repos:
        image = repos.core.images.get(cropped["image"])
    assert image is not None
    store = browser.platform.store
    assert store.exists(crop_key(image.storage_key, cropped["small"]))
    # Without the original the crop can no longer be made: it is served from where it was kept.
    store.delete(image.storage_key)
    again = _crop(browser, cropped["small"])
    assert again.tobytes() == first.tobytes()


def test_the_blob_clean_up_keeps_a_crop_while_its_image_lives(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    client: AppClient,
    cropped: dict[str, Any],
    app_db: Database,
) -> None:
    browser = sign_in(owner)
    _crop(browser, cropped["small"])
    with app_db.read() as repos:
        image = repos.core.images.get(cropped["image"])
    assert image is not None
    key = crop_key(image.storage_key, cropped["small"])
    store = browser.platform.store
    later = utcnow() + timedelta(minutes=1)
    remove_unreferenced_blobs(app_db, store, grace=timedelta(0), now=later)
    assert store.exists(key)
    # Deleted with its image: the clean-up removes it with the image's other blobs.
    gone = client.delete(f"/api/v2/images/{image.id}", headers=owner.headers)
    assert gone.status_code == 204, gone.text
    assert store.exists(key)
    remove_unreferenced_blobs(app_db, store, grace=timedelta(0), now=later)
    assert not store.exists(key)


def test_crops_of_other_projects_answer_exactly_like_missing_ones(
    sign_in: Callable[[Account], Browser],
    make_account: Callable[..., Account],
    client: AppClient,
    cropped: dict[str, Any],
) -> None:
    # A viewer of another project, and of no project of the crop's.
    stranger = make_account("stranger")
    other = client.post("/api/v2/projects/", json={"name": "Beetles"}, headers=stranger.headers)
    assert other.status_code == 201, other.text
    theirs = sign_in(stranger)
    scrub = re.compile(r"\b\d+\b")
    for annotation in (cropped["small"], cropped["classification"]):
        foreign = theirs.client.get(f"/annotations/{annotation}/crop", follow_redirects=False)
        missing = theirs.client.get(f"/annotations/{10**9}/crop", follow_redirects=False)
        assert foreign.status_code == missing.status_code == 404
        assert scrub.sub("N", foreign.text) == scrub.sub("N", missing.text)
    # A viewer of the crop's project sees it.
    viewer = make_account("vera")
    cropped["proto"].add_member(viewer, "viewer")
    assert _crop(sign_in(viewer), cropped["small"]).size == (50, 59)


@pytest.mark.parametrize("annotation", ["0", "abc", "9" * 30])
def test_a_crop_of_no_annotation_is_refused_with_a_message(
    sign_in: Callable[[Account], Browser], owner: Account, annotation: str
) -> None:
    answer = sign_in(owner).client.get(f"/annotations/{annotation}/crop", follow_redirects=False)
    assert answer.status_code == 400, answer.text
    assert "annotation_id: Input should be" in answer.text


def test_only_a_box_has_a_crop(
    sign_in: Callable[[Account], Browser], owner: Account, cropped: dict[str, Any]
) -> None:
    answer = sign_in(owner).client.get(
        f"/annotations/{cropped['classification']}/crop", follow_redirects=False
    )
    assert answer.status_code == 400
    assert "only a detection (a box) has a crop" in answer.text


def test_the_queue_shows_crops_not_photos(
    sign_in: Callable[[Account], Browser], owner: Account, cropped: dict[str, Any]
) -> None:
    page = sign_in(owner).page("/projects/{}/review".format(cropped["proto"].project_id))
    shown = re.findall(r'<img class="crop" src="(/[^"]+)"', page)
    assert sorted(shown) == sorted(f"/annotations/{cropped[k]}/crop" for k in ("small", "large"))
    assert "/thumb" not in page


# -- the grid's counts --


def _tiles(page: str) -> dict[int, tuple[str, str]]:
    """(detections, reviewed) of each tile of a grid page, by image id ('' when unprocessed)."""
    found = re.findall(
        r'<a href="/images/(\d+)[^"]*">.*?data-detections="(\d*)" data-reviewed="(\d*)"',
        page,
        re.S,
    )
    return {int(image): (detections, reviewed) for image, detections, reviewed in found}


def test_grid_tiles_count_the_current_detections_and_their_reviews(
    sign_in: Callable[[Account], Browser],
    owner: Account,
    client: AppClient,
    project_id: int,
    jpeg: Callable[..., bytes],
    app_db: Database,
) -> None:
    proto = Protocol(client, owner, project_id, jpeg)
    assert proto.register(pipeline_config(default_threshold=0.5)).status_code == 201
    a, b, c = proto.images(3)

    def box(image: int, x: float, scores: tuple[float, ...] = (0.7, 0.2, 0.1)) -> dict[str, Any]:
        return detection({"image_id": str(image)}, bbox=(x, 10, x + 20, 30), scores=list(scores))

    low = (0.3, 0.2, 0.1)  # under the pipeline's threshold: hidden in the viewer, not counted
    _run(proto, {a: [box(a, 1), box(a, 30), box(a, 60, low)], b: [box(b, 1), box(b, 30)]})
    # A second run of the pipeline on a: its results replace the first run's.
    _run(proto, {a: [box(a, 5)]}, image_ids=[a], params={"reprocess": True})
    first_of_b = min(x["id"] for x in _boxes(proto, b))
    for verdict in ("confirm", "false_detection"):  # two reviews of one box: one reviewed box
        made = client.post(
            f"/api/v2/annotations/{first_of_b}/reviews",
            json={"verdict": verdict},
            headers=owner.headers,
        )
        assert made.status_code == 201, made.text
    d = proto.images(1)[0]  # no job has run on it
    browser = sign_in(owner)
    with statements_sent(app_db.engine) as before:
        page = browser.page(f"/projects/{project_id}/images")
    assert _tiles(page) == {a: ("1", "0"), b: ("2", "1"), c: ("0", "0"), d: ("", "")}
    assert "2 detections · 1 reviewed" in page
    assert "not processed yet" in page
    # The counts take one query for the page, however many images it shows.
    more = proto.images(4)
    _run(proto, {e: [box(e, 1)] for e in more}, image_ids=more)
    with statements_sent(app_db.engine) as after:
        page = browser.page(f"/projects/{project_id}/images")
    assert len(_tiles(page)) == 8
    assert {_tiles(page)[e] for e in more} == {("1", "0")}
    counting = [
        [s for s, _ in seen if "reviews" in s and "annotations" in s] for seen in (before, after)
    ]
    assert [len(queries) for queries in counting] == [1, 1]
