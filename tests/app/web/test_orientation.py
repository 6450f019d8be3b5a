"""Phone photos: one orientation convention end to end. A JPEG whose EXIF orientation turns it
(1 to 8) is stored with its upright size, a worker's boxes in the upright frame (as it decodes
the photo) are taken up to its far edges, a crop of a box shows what the box holds upright, and
the viewer draws in that frame."""

from __future__ import annotations

import io
from collections.abc import Callable

import pytest
from PIL import Image

from tests.support.accounts import Account
from tests.support.protocol import detection, success
from tests.support.protocol_client import API, Protocol, statuses
from tests.support.web import Browser

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
