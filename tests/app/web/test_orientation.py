"""Phone photos: one orientation convention end to end. A JPEG whose EXIF orientation turns it
(1 to 8) is stored with its upright size, a worker's boxes in the upright frame (as it decodes
the photo) are taken up to its far edges, a crop of a box shows what the box holds upright, and
the viewer draws in that frame."""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from tests.support.accounts import Account
from tests.support.protocol import detection, success
from tests.support.protocol_client import API, Protocol, statuses
from tests.support.web import Browser
from trapline.cli import app
from trapline.services.photos.sizes import reread_sizes

#: The photo as it is meant to be seen: 300 wide, 200 high, a red square top left.
UPRIGHT = (300, 200)
MARK = (0, 0, 60, 60)
#: How a camera stores the upright picture for each orientation (the inverse of turning it
#: upright): the stored pixels, which the tag says how to turn.
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def phone_photo(orientation: int) -> bytes:
    """A real JPEG with EXIF orientation ``orientation`` whose upright picture is UPRIGHT with
    the red mark at MARK (a shade of the rest per orientation, so no two files are alike)."""
    upright = Image.new("RGB", UPRIGHT, (20, 20 * orientation, 200))
    upright.paste((230, 10, 10), MARK)
    turn = STORED[orientation]
    stored = upright.transpose(turn) if turn is not None else upright
    exif = Image.Exif()
    exif[0x0112] = orientation
    out = io.BytesIO()
    stored.save(out, "JPEG", quality=95, exif=exif.tobytes())
    return out.getvalue()


@pytest.mark.parametrize("orientation", range(1, 9))
def test_a_turned_photo_keeps_its_results_in_its_upright_frame(
    registered: Protocol, sign_in: Callable[[Account], Browser], orientation: int
) -> None:
    answer = registered.client.post(
        f"{API}/projects/{registered.project_id}/images",
        files=[("files", (f"phone-{orientation}.jpg", phone_photo(orientation), "image/jpeg"))],
        headers=registered.headers,
    )
    assert answer.status_code == 201, answer.text
    (image,) = answer.json()["results"]
    assert (image["width"], image["height"]) == UPRIGHT

    job_id = registered.job_that_runs()["id"]
    (task,) = registered.claim(job_id, 1)
    width, height = UPRIGHT
    x1, y1, x2, y2 = (float(v) for v in MARK)
    mark = detection(task, bbox=(x1, y1, x2, y2))
    # Out to the upright frame's far corner: past the stored width for a quarter turn.
    corner = detection(task, bbox=(width - 40.0, height - 40.0, float(width), float(height)))
    assert statuses(registered.post(job_id, success(task, mark, corner))) == ["saved"]

    (analysis,) = registered.image(int(image["id"]))["analyses"]
    boxes = [a for a in analysis["annotations"] if a["type"] == "bounding_box"]
    assert sorted(b["bbox"]["y2"] for b in boxes) == [60.0, float(height)]
    first = min(boxes, key=lambda b: b["bbox"]["x1"])
    cropped = registered.client.get(
        f"{API}/annotations/{first['id']}/crop", headers=registered.headers, follow_redirects=True
    )
    assert cropped.status_code == 200, cropped.text
    crop = Image.open(io.BytesIO(cropped.content)).convert("RGB")
    red, green, blue = crop.resize((1, 1), Image.Resampling.BOX).getpixel((0, 0))  # type: ignore[misc]
    assert (red > 180, green < 80, blue < 80) == (True, True, True), (red, green, blue)

    viewer = sign_in(registered.account).page(f"/images/{image['id']}")
    assert f'viewBox="0 0 {width} {height}"' in viewer


def test_sizes_stored_before_photos_were_turned_are_read_again(
    registered: Protocol, database_url: str, tmp_path: Path
) -> None:
    """Photos stored before trapline turned them by their orientation carry their raw size
    (a worker's boxes past the raw width were refused): ``trapline admin reread-sizes`` reads
    each stored file's header and records the upright size; a second run changes nothing; a
    photo whose file is gone is named and left as it was."""
    files = [("files", (f"phone-{o}.jpg", phone_photo(o), "image/jpeg")) for o in (1, 6, 8, 3)]
    answer = registered.client.post(
        f"{API}/projects/{registered.project_id}/images", files=files, headers=registered.headers
    )
    assert answer.status_code == 201, answer.text
    ids = [int(i["id"]) for i in answer.json()["results"]]
    gone = registered.client.post(
        f"{API}/projects/{registered.project_id}/images",
        files=[("files", ("gone.jpg", phone_photo(5), "image/jpeg"))],
        headers=registered.headers,
    ).json()["results"][0]
    platform = registered.platform
    with platform.db.write() as repos:  # what the code before stored: the raw size
        for image_id in [*ids, int(gone["id"])]:
            repos.photos.images.set_size(image_id, *reversed(UPRIGHT))
        repos.photos.images.set_size(ids[0], *UPRIGHT)  # orientation 1 was right
        repos.photos.images.set_size(ids[3], *UPRIGHT)  # and 3 turns it half round
        key = repos.core.images.get(int(gone["id"])).storage_key
    platform.store.delete(key)
    # The command, on the settings' database and store.
    runner = CliRunner()
    args = ["admin", "reread-sizes", "--database-url", database_url]
    printed = runner.invoke(app, [*args, "--data-dir", str(tmp_path / "data")])
    assert printed.exit_code == 0, printed.output
    assert "5 photos read; 2 had their upright size recorded; 1 unreadable" in printed.stdout
    assert f"image {gone['id']}: no blob is stored" in printed.stdout
    for image_id in ids:
        shown = registered.client.get(f"{API}/images/{image_id}", headers=registered.headers)
        assert (shown.json()["width"], shown.json()["height"]) == UPRIGHT
    again = reread_sizes(platform.db, platform.store, project_id=registered.project_id)
    assert (again.checked, again.corrected, again.unreadable) == (5, 0, 1)
    # A worker's box to the upright corner of a turned photo is taken now.
    job = registered.job_that_runs()["id"]
    tasks = {int(t["image_id"]): t for t in registered.claim(job, 10)}
    turned = tasks[ids[1]]
    corner = detection(turned, bbox=(UPRIGHT[0] - 40.0, UPRIGHT[1] - 40.0, *map(float, UPRIGHT)))
    assert statuses(registered.post(job, success(turned, corner))) == ["saved"]
