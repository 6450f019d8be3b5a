"""The classifier stage of ``moth-blobs`` on drawn sheets: fasteners, scale bars, small insects."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageDraw

from trapline.pipelines.blob_classes import (
    MOTH,
    NOT_AN_INSECT,
    OTHER_INSECT,
    ClassSettings,
    classify,
    insect_score,
)
from trapline.pipelines.blob_features import BlobFeatures
from trapline.pipelines.moth_blobs import detect_blobs, find_blobs

SHEET = (232, 230, 224)


def grainy_sheet(size: tuple[int, int] = (1600, 900), seed: int = 0) -> Image.Image:
    grain = np.random.default_rng(seed).normal(0, 3, (size[1], size[0], 3))
    return Image.fromarray(np.clip(np.array(SHEET) + grain, 0, 255).astype(np.uint8))


def fastener(pen: ImageDraw.ImageDraw, centre: tuple[int, int], radius: int = 30) -> None:
    """A black press stud with a bright metal eyelet in the middle, as on trap sheets."""
    x, y = centre
    pen.ellipse((x - radius, y - radius, x + radius, y + radius), fill=(22, 22, 24))
    eye = radius // 3
    pen.ellipse((x - eye, y - eye, x + eye, y + eye), fill=(205, 205, 210))


def moth(pen: ImageDraw.ImageDraw, box: tuple[int, int, int, int], colour: tuple[int, ...]) -> None:
    """Two wings and a darker body, like a resting moth seen from above."""
    x1, y1, x2, y2 = box
    middle = (x1 + x2) // 2
    pen.polygon([(middle, y1), (x1, y2), (middle, y2 - (y2 - y1) // 5)], fill=colour)
    pen.polygon([(middle, y1), (x2, y2), (middle, y2 - (y2 - y1) // 5)], fill=colour)
    darker = tuple(max(0, c - 40) for c in colour)
    pen.ellipse((middle - 6, y1, middle + 6, y2 - 8), fill=darker)


def test_fasteners_and_a_scale_bar_are_labelled_not_insects() -> None:
    image = grainy_sheet()
    pen = ImageDraw.Draw(image)
    for centre in ((300, 250), (1300, 250), (800, 700)):
        fastener(pen, centre)
    # A scale bar: a grey frame with two rows of black and white squares, lying on the sheet.
    pen.rectangle((500, 430, 740, 490), fill=(190, 190, 196))
    for step in range(9):
        top = 436 if step % 2 == 0 else 460
        pen.rectangle((510 + 24 * step, top, 534 + 24 * step, top + 24), fill=(40, 40, 44))
    moth(pen, (1000, 400, 1090, 480), (120, 85, 50))
    blobs = detect_blobs(image)
    insects = [blob for blob in blobs if blob.verdict.label != NOT_AN_INSECT]
    others = [blob for blob in blobs if blob.verdict.label == NOT_AN_INSECT]
    assert [(round(b.box.x1, -1), b.verdict.label) for b in insects] == [(1000, MOTH)]
    # The three fasteners, and the bar unless it is too long and thin to be a blob at all.
    assert len(others) in (3, 4)
    assert all(blob.box.score < 0.5 for blob in others)
    assert len(find_blobs(image)) == 1


def test_small_insects_are_other_insects_and_faint_specks_are_dropped() -> None:
    image = grainy_sheet()
    pen = ImageDraw.Draw(image)
    pen.ellipse((400, 400, 412, 424), fill=(60, 50, 45))  # a small fly
    pen.ellipse((900, 300, 908, 308), fill=(200, 198, 192))  # a faint speck
    moth(pen, (1100, 500, 1200, 590), (150, 120, 80))
    labels = sorted((round(b.x1, -2), b.label) for b in find_blobs(image))
    assert labels == [(400, OTHER_INSECT), (1100, MOTH)]


def features(**changes: float) -> BlobFeatures:
    base = {
        "size": 0.03,
        "elongation": 1.6,
        "fill": 0.6,
        "darkness": 0.5,
        "black": 0.2,
        "pale_centre": -0.05,
        "at_border": False,
        "saturation": 0.35,
        "hue": 25.0,
        "standout": 0.5,
        "edge": 0.2,
    }
    base.update(changes)
    return BlobFeatures(**base)  # type: ignore[arg-type]


def test_scores_rise_with_darkness_size_and_standout_and_add_up() -> None:
    faint = insect_score(features(darkness=0.05, size=0.01, standout=0.1))
    dark = insect_score(features(darkness=0.5, size=0.01, standout=0.5))
    small, large = insect_score(features(size=0.006)), insect_score(features(size=0.05))
    assert faint < 0.5 < dark
    assert small < large
    # A small insect that stands out of its sheet counts; a smudge of the sheet's weave as dark
    # and as large does not.
    speck = {"size": 0.006, "darkness": 0.3, "elongation": 2.0}
    assert insect_score(features(**speck, standout=0.1)) < 0.5
    assert insect_score(features(**speck, standout=0.6)) > 0.5
    verdict = classify(features())
    assert verdict.label == MOTH
    assert sum(verdict.scores) == pytest.approx(1.0)
    assert verdict.insect == pytest.approx(insect_score(features()))


def test_a_dark_round_blob_without_an_eyelet_is_not_a_fastener() -> None:
    stud = features(fill=0.79, black=0.6, darkness=0.7, saturation=0.1, elongation=1.0)
    assert classify(stud).label == MOTH
    assert classify(features(**{**stud.__dict__, "pale_centre": 0.3})).label == NOT_AN_INSECT
    cut = {**stud.__dict__, "at_border": True}
    assert classify(features(**cut)).label == NOT_AN_INSECT
    # The threshold decides what is counted, not the label: a faint blob stays an insect.
    assert classify(stud, ClassSettings(threshold=1.0)).label == MOTH


@pytest.mark.parametrize("light", [(1.0, 1.0, 1.0), (1.0, 0.86, 0.64)], ids=["white", "warm"])
def test_a_grey_ruler_is_not_an_insect_under_any_lamp(light: tuple[float, float, float]) -> None:
    image = grainy_sheet()
    pen = ImageDraw.Draw(image)
    pen.rectangle((300, 400, 530, 448), fill=(150, 150, 152))  # a printed ruler
    moth(pen, (1000, 400, 1090, 480), (120, 85, 50))
    # The lamp's colour falls on everything, the sheet and the ruler alike.
    lit = Image.fromarray((np.asarray(image, dtype=np.float32) * light).astype(np.uint8))
    blobs = detect_blobs(lit)
    ruler = [b for b in blobs if b.box.x1 < 700]
    assert [b.verdict.label for b in ruler] == [NOT_AN_INSECT]
    assert [(round(b.x1, -1), b.label) for b in find_blobs(lit)] == [(1000, MOTH)]


def test_a_shadowed_corner_is_no_insect_and_a_slender_moth_is_one() -> None:
    """A corner falling into shadow (the light's fall-off, or a fold's shade) with a fastener
    in it, and a slender moth (27 x 81 px on a 4K photo) as grey-brown as a printed label."""
    image = grainy_sheet((4096, 2160))
    pen = ImageDraw.Draw(image)
    fastener(pen, (3900, 2000))
    pen.ellipse((2000, 1000, 2027, 1081), fill=(120, 95, 70))
    pen.ellipse((2008, 1005, 2019, 1076), fill=(90, 70, 50))
    rows, cols = np.mgrid[0:2160, 0:4096]
    shade = np.clip(0.25 + np.hypot(cols - 4096, rows - 2160) / 500, 0.25, 1.0)
    shaded = np.asarray(image, dtype=np.float32) * shade[..., None] + 6
    blobs = detect_blobs(Image.fromarray(np.clip(shaded, 0, 255).astype(np.uint8)))
    assert [(round(b.box.x1, -2), b.verdict.label) for b in blobs] == [
        (2000, OTHER_INSECT),
        (3900, NOT_AN_INSECT),
    ]
