"""The detection scorer scene: made-up light-trap photos with moths and pale stains, one photo a
night. ``moth-blobs`` as it comes counts the stains as insects (they are dark enough and sharp);
people confirm the moths, reject the stains and draw the one moth a night the test pipeline
missed, so a scorer refitted from their reviews learns that the stains are not insects.

The unit tests use ``stained_photo`` alone; the application tests build the nights through the
API (``scorer_scene``).
"""

from __future__ import annotations

import io
import random
from dataclasses import dataclass
from datetime import datetime, timedelta

from PIL import Image, ImageDraw

from tests.support.accounts import upload
from tests.support.protocol import detection, pipeline_config, success
from tests.support.protocol_client import Protocol, api_get, api_post
from tests.support.scenes import new_deployment, track_all
from trapline.domain.processing.results import Box
from trapline.imaging.synthetic import light_trap_image
from trapline.services.core.access import authenticate
from trapline.services.review.reviews import add_missing_box

Rect = tuple[float, float, float, float]
#: The photos' size, moths and stains a photo.
SIZE = (800, 600)
MOTHS, STAINS = 5, 4
#: The first night's photo was taken then (UTC); one photo a night after it.
T0 = datetime(2024, 7, 1, 23, 0, 0)
_EXIF_IFD, _DATETIME_ORIGINAL = 0x8769, 36867


def stained_photo(seed: int) -> tuple[Image.Image, list[Rect], list[Rect]]:
    """A lit sheet with ``MOTHS`` moths and ``STAINS`` pale stains apart from them and each
    other: the photo, the moths' boxes and the stains'."""
    image, insects = light_trap_image(seed, *SIZE, insects=MOTHS)
    moths = [tuple(float(v) for v in i.box) for i in insects]
    rng = random.Random(seed)
    draw = ImageDraw.Draw(image)
    stains: list[Rect] = []
    while len(stains) < STAINS:
        w, h = rng.randint(14, 24), rng.randint(10, 18)
        x, y = rng.randint(40, SIZE[0] - 40 - w), rng.randint(40, SIZE[1] - 40 - h)
        box = (float(x), float(y), float(x + w), float(y + h))
        if any(_near(box, other) for other in (*moths, *stains)):
            continue
        sheet = image.getpixel((x + w // 2, y + h // 2))
        assert isinstance(sheet, tuple)
        draw.ellipse(box, fill=tuple(int(v * 0.7) for v in sheet))
        stains.append(box)
    return image, moths, stains  # type: ignore[return-value]


def _near(a: Rect, b: Rect, gap: float = 10.0) -> bool:
    return not (a[2] < b[0] - gap or a[0] > b[2] + gap or a[3] < b[1] - gap or a[1] > b[3] + gap)


def stained_jpeg(seed: int, taken: datetime) -> bytes:
    """``stained_photo`` as a JPEG whose EXIF says when it was taken."""
    image, _, _ = stained_photo(seed)
    exif = Image.Exif()
    exif.get_ifd(_EXIF_IFD)[_DATETIME_ORIGINAL] = taken.strftime("%Y:%m:%d %H:%M:%S")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=92, exif=exif)
    return out.getvalue()


@dataclass(frozen=True)
class ScorerScene:
    """The nights' photos (one a night), and each photo's moths and stains."""

    photos: list[int]
    moths: dict[int, list[Rect]]
    stains: dict[int, list[Rect]]


def scorer_scene(proto: Protocol, nights: int = 4, *, reviewed: bool = True) -> ScorerScene:
    """``nights`` photos of one trap, one a night; the test pipeline's boxes on each: every moth
    but the first, and every stain. With ``reviewed``, people confirm the moths' boxes, reject
    the stains' and draw each first moth."""
    trap = new_deployment(proto, "Sheet", "UTC")
    files = [(f"night-{n}.jpg", stained_jpeg(n, T0 + timedelta(days=n))) for n in range(nights)]
    body = upload(proto.client, proto.account, proto.project_id, *files, deployment_id=str(trap))
    assert body["status"] == 201, body
    photos = [int(r["id"]) for r in body["results"]]
    moths = {p: stained_photo(n)[1] for n, p in enumerate(photos)}
    stains = {p: stained_photo(n)[2] for n, p in enumerate(photos)}
    assert proto.register(pipeline_config()).status_code in (200, 201)
    job = proto.job_that_runs(params={"max_attempts": 1})
    tasks = {int(t["image_id"]): t for t in proto.claim(job["id"], 100)}
    items = [
        success(tasks[p], *(detection(tasks[p], bbox=b) for b in (*moths[p][1:], *stains[p])))
        for p in photos
    ]
    assert {a["status"] for a in proto.post(job["id"], *items)} == {"saved"}
    track_all(proto)
    if reviewed:
        review_scene(proto, photos, moths)
    return ScorerScene(photos, moths, stains)


def review_scene(proto: Protocol, photos: list[int], moths: dict[int, list[Rect]]) -> None:
    """People's reviews: moths confirmed, stains rejected, each photo's first moth drawn."""
    person = authenticate(proto.platform.db, proto.account.token)
    boxes = api_get(
        proto, f"/projects/{proto.project_id}/annotations", type="bounding_box", limit=100
    )["results"]
    for box in boxes:
        b = box["bbox"]
        rect = (b["x1"], b["y1"], b["x2"], b["y2"])
        verdict = "confirm" if rect in moths[int(box["image_id"])] else "false_detection"
        api_post(proto, f"/annotations/{box['id']}/reviews", {"verdict": verdict}, 201)
    for photo in photos:
        add_missing_box(proto.platform.db, person, photo, Box(*moths[photo][0]), "moth")
