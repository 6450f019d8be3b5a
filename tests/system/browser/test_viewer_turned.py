"""A phone photo held upright whose EXIF orientation is stored as a rational (6/1), in Chromium:
the server stores it with its upright size, as the workers turn it; Chromium turns a photo by
an orientation stored as a short only, so the viewer shows the server's large thumbnail, upright,
in its place. A photo whose orientation is a short is shown as it is."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from PIL import Image

from tests.support.browser import App, ok_json, sign_in

pytestmark = pytest.mark.slow

#: The photo as stored: wide; its orientation (6) turns it a quarter, upright it is tall.
STORED = (300, 200)
ORIENTATION = 274


def _photo(orientation: bytes) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", STORED, (40, 90, 160)).save(out, "JPEG", exif=orientation)
    return out.getvalue()


def _as_rational(value: int) -> bytes:
    """An EXIF block whose one tag, the orientation, is the rational value/1."""
    entry = struct.pack("<HHII", ORIENTATION, 5, 1, 26)  # type 5: rational, after the directory
    tiff = b"II*\x00" + struct.pack("<IH", 8, 1) + entry + struct.pack("<I", 0)
    return b"Exif\x00\x00" + tiff + struct.pack("<II", value, 1)


def _as_short(value: int) -> bytes:
    exif = Image.Exif()
    exif[ORIENTATION] = value
    return exif.tobytes()


def _shown(page: Any, app: App, image: int) -> tuple[str, str, int, int]:
    """What the viewer shows of a photo once it is loaded: how, its source, its natural size."""
    page.goto(f"{app.url}/images/{image}")
    # The viewer says what it showed once it looked at the loaded photo (``data-shown``).
    page.wait_for_function(
        "() => { const p = document.getElementById('photo');"
        " return p.dataset.shown && p.complete && p.naturalWidth > 0; }"
    )
    return page.evaluate(
        "() => { const p = document.getElementById('photo');"
        " return [p.dataset.shown, p.getAttribute('src'), p.naturalWidth, p.naturalHeight]; }"
    )


def test_a_photo_turned_by_a_rational_orientation_is_shown_upright(page: Any, app: App) -> None:
    project = ok_json(app.api("POST", "/projects/", json={"name": "Phones"}), 201)["id"]
    files = [
        ("files", ("rational.jpg", _photo(_as_rational(6)), "image/jpeg")),
        ("files", ("short.jpg", _photo(_as_short(6)), "image/jpeg")),
    ]
    stored = ok_json(app.api("POST", f"/projects/{project}/images/", files=files), 201)["results"]
    by_name = {i["filename"]: i for i in stored}
    # Both are stored with their upright size, the frame the workers' boxes come in.
    assert {(i["width"], i["height"]) for i in stored} == {(200, 300)}

    sign_in(page, app)
    shown, source, width, height = _shown(page, app, by_name["rational.jpg"]["id"])
    assert (shown, source) == (
        "upright",
        f"/images/{by_name['rational.jpg']['id']}/thumb?size=1024",
    )
    assert width < height  # upright: tall, as its size says
    shown, source, width, height = _shown(page, app, by_name["short.jpg"]["id"])
    assert (shown, source) == ("as-stored", f"/images/{by_name['short.jpg']['id']}/file")
    assert (width, height) == (200, 300)  # Chromium turned the original itself
