"""``moth-blobs`` on drawn sheets with insects where we put them (real photos: see _real)."""

from __future__ import annotations

import random

import numpy as np
import pytest
from PIL import Image, ImageDraw

from trapline.imaging.synthetic import light_trap_image
from trapline.pipelines import Box, SourceImage
from trapline.pipelines.blob_segmentation import scan
from trapline.pipelines.moth_blobs import MothBlobsPipeline, find_blobs

Rect = tuple[float, float, float, float]


def iou(a: Rect, b: Rect) -> float:
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    overlap = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - overlap
    return overlap / union


def rect(box: Box) -> Rect:
    return (box.x1, box.y1, box.x2, box.y2)


def matched(truth: list[Rect], found: list[Rect], threshold: float = 0.5) -> int:
    return sum(1 for expected in truth if any(iou(expected, box) >= threshold for box in found))


def sheet_with_blobs(
    seed: int, size: tuple[int, int] = (900, 600)
) -> tuple[Image.Image, list[Rect]]:
    """A bright sheet, lit unevenly and grainy, with dark and coloured ellipses at known places."""
    rng = random.Random(seed)
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    centre = (width * rng.uniform(0.3, 0.7), height * rng.uniform(0.3, 0.7))
    distance = np.hypot(xs - centre[0], ys - centre[1]) / max(size)
    light = 245 - 60 * distance**2 - 10 * xs / width
    grain = np.random.default_rng(seed).normal(0, 4, (height, width, 3))
    sheet = np.clip(light[..., None] * np.array([1.0, 0.98, 0.93]) + grain, 0, 255)
    image = Image.fromarray(sheet.astype(np.uint8))
    pen = ImageDraw.Draw(image)
    colours = [(60, 50, 40), (120, 80, 40), (90, 140, 60), (40, 40, 45), (170, 120, 60)]
    blobs: list[Rect] = []
    while len(blobs) < 8:
        w, h = rng.uniform(25, 70), rng.uniform(20, 55)
        x, y = rng.uniform(20, width - w - 20), rng.uniform(20, height - h - 20)
        box = (x, y, x + w, y + h)
        if any(iou(box, other) > 0 or _near(box, other) for other in blobs):
            continue
        pen.ellipse(box, fill=rng.choice(colours))
        blobs.append(box)
    return image, blobs


def _near(a: Rect, b: Rect, gap: float = 15) -> bool:
    return not (a[2] + gap < b[0] or b[2] + gap < a[0] or a[3] + gap < b[1] or b[3] + gap < a[1])


@pytest.mark.parametrize("seed", range(4))
def test_blobs_on_a_grainy_uneven_sheet_are_found(seed: int) -> None:
    image, truth = sheet_with_blobs(seed)
    found = [rect(box) for box in find_blobs(image)]
    assert matched(truth, found, threshold=0.6) == len(truth)
    assert len(found) == len(truth)


def test_drawn_light_trap_photos_recall_and_precision() -> None:
    truth_count = hits = found_count = right = 0
    for seed in range(4):
        image, insects = light_trap_image(seed, 1200, 900)
        truth = [tuple(map(float, insect.box)) for insect in insects]
        found = [rect(box) for box in find_blobs(image)]
        truth_count += len(truth)
        found_count += len(found)
        hits += matched(truth, found)
        right += matched(found, truth)
    assert hits / truth_count >= 0.9
    assert right / found_count >= 0.9


def test_boxes_come_out_in_original_pixels_from_a_reduced_decode() -> None:
    image, truth = sheet_with_blobs(7, (1200, 800))
    reduced = image.resize((600, 400), Image.Resampling.BILINEAR)
    (result,) = MothBlobsPipeline().process(
        [SourceImage("photo", reduced, original_size=(1200, 800))]
    )
    found = [
        (found.bbox.x1, found.bbox.y1, found.bbox.x2, found.bbox.y2)
        for found in result.detections
        if found.bbox is not None
    ]
    assert matched(truth, found) == len(truth)
    assert len(found) == len(truth)
    for found_box in result.detections:
        (verdict,) = found_box.classifications
        assert verdict.classification in ("moth", "other insect")
        assert verdict.labels == ["moth", "other insect", "not an insect"]
        assert sum(verdict.scores) == pytest.approx(1.0)
        assert verdict.scores[0] + verdict.scores[1] > 0.5
        assert found_box.algorithm.key == "moth-blobs"
        assert verdict.algorithm.key == "moth-blobs-classes"


def test_touching_insects_are_cut_apart() -> None:
    image = Image.new("RGB", (800, 600), (235, 232, 225))
    pen = ImageDraw.Draw(image)
    pen.ellipse((200, 250, 300, 320), fill=(70, 60, 50))
    pen.ellipse((330, 250, 430, 320), fill=(70, 60, 50))
    pen.line((300, 285, 330, 285), fill=(70, 60, 50), width=3)  # a leg touching the neighbour
    found = [rect(box) for box in find_blobs(image)]
    assert matched([(200, 250, 300, 320), (330, 250, 430, 320)], found, threshold=0.6) == 2
    assert len(found) == 2


def test_a_bare_sheet_and_a_photo_that_is_no_sheet_give_nothing() -> None:
    bare, _ = light_trap_image(3, 800, 600, insects=0)
    assert find_blobs(bare) == []
    rng = np.random.default_rng(1)
    soil = Image.fromarray(rng.integers(0, 160, (600, 800, 3), dtype=np.uint8))
    assert find_blobs(soil) == []


def test_a_photo_that_is_no_lit_sheet_gives_a_result_that_says_why() -> None:
    rng = np.random.default_rng(2)
    textured = Image.fromarray(rng.integers(0, 160, (600, 800, 3), dtype=np.uint8))
    # Smooth but dim all over, as an infrared night scene's sky or water.
    dim = Image.new("RGB", (800, 600), (40, 40, 40))
    ImageDraw.Draw(dim).ellipse((300, 250, 400, 320), fill=(5, 5, 5))
    sheet, _ = light_trap_image(3, 800, 600)
    results = MothBlobsPipeline().process(
        [SourceImage(name, image) for name, image in (("t", textured), ("d", dim), ("s", sheet))]
    )
    notes = [r.note for r in results]
    assert notes[0] is not None
    assert "looks like a lit sheet" in notes[0]
    assert notes[1] is not None
    assert "too dim" in notes[1]
    assert notes[2] is None
    assert results[2].detections
    assert results[0].detections == results[1].detections == []
    assert scan(dim).candidates == []
    assert scan(dim).sheet.brightness < 60


def test_captions_and_thin_things_at_the_border_are_ignored() -> None:
    image = Image.new("RGB", (1000, 600), (235, 232, 225))
    pen = ImageDraw.Draw(image)
    pen.rectangle((880, 588, 999, 599), fill=(10, 10, 10))  # a burned-in time stamp
    pen.text((885, 589), "2023-11-10 21:45", fill=(250, 250, 250))
    pen.line((100, 100, 500, 110), fill=(90, 90, 90), width=4)  # a fold in the sheet
    pen.ellipse((400, 300, 460, 350), fill=(80, 60, 40))
    found = [rect(box) for box in find_blobs(image)]
    assert matched([(400, 300, 460, 350)], found, threshold=0.6) == 1
    assert len(found) == 1


def test_the_config_names_the_detector_and_the_classifier() -> None:
    config = MothBlobsPipeline().config
    detector, classifier = config.algorithms
    assert (config.slug, detector.key, detector.task_type) == (
        "moth-blobs",
        "moth-blobs",
        "detection",
    )
    assert (classifier.key, classifier.task_type) == ("moth-blobs-classes", "classification")
    assert classifier.category_map is not None
    assert classifier.category_map.labels == ["moth", "other insect", "not an insect"]
    assert MothBlobsPipeline().default_threshold == 0.5


SHEET = (235, 232, 225)


def overlapping_moths(pale: tuple[int, int, int]) -> tuple[Image.Image, list[Rect]]:
    """A moth with a dark one lying over its corner: one blob with a waist, no narrow neck."""
    image = Image.new("RGB", (1280, 960), SHEET)
    pen = ImageDraw.Draw(image)
    moths = [(400.0, 400.0, 530.0, 485.0), (507.0, 457.0, 577.0, 527.0)]
    pen.ellipse(moths[0], fill=pale)
    pen.ellipse(moths[1], fill=(70, 60, 50))
    return image, moths


def test_a_pale_moth_under_a_dark_one_is_cut_apart() -> None:
    image, moths = overlapping_moths(pale=(170, 160, 150))
    found = [rect(box) for box in find_blobs(image)]
    assert matched(moths, found, threshold=0.6) == 2
    assert len(found) == 2


def test_two_alike_halves_stay_one_insect() -> None:
    # The same shape in one darkness: the two wings of one moth, not two insects.
    image, _ = overlapping_moths(pale=(70, 60, 50))
    (found,) = [rect(box) for box in find_blobs(image)]
    assert iou(found, (400.0, 400.0, 577.0, 527.0)) >= 0.8


def test_a_pale_patch_inside_a_moth_does_not_make_it_two() -> None:
    # A wing's pale window, enclosed by dark wing: the sheet shows through, it is no pale insect.
    image, _ = overlapping_moths(pale=(70, 60, 50))
    ImageDraw.Draw(image).ellipse((430.0, 420.0, 480.0, 465.0), fill=SHEET)
    (found,) = [rect(box) for box in find_blobs(image)]
    assert iou(found, (400.0, 400.0, 577.0, 527.0)) >= 0.8


def small_insects_and_a_coarse_weave(seed: int = 5) -> tuple[Image.Image, list[Rect]]:
    """A 4K sheet: small, faint insects (26 x 12 px) on its smooth left half, a coarse weave of
    grey dashes about as dark and as large as they are on its right half."""
    rng = np.random.default_rng(seed)
    width, height = 4096, 2160
    sheet = np.full((height, width, 3), 232.0) * np.array([1.0, 0.98, 0.94])
    sheet += rng.normal(0, 3, sheet.shape)
    image = Image.fromarray(np.clip(sheet, 0, 255).astype(np.uint8))
    pen = ImageDraw.Draw(image)
    for _ in range(16000):
        x, y = rng.uniform(width / 2 + 100, width - 100), rng.uniform(100, height - 100)
        length, grey = rng.uniform(8, 26), int(rng.uniform(150, 185))
        pen.line([(x, y), (x + length, y + rng.uniform(-3, 3))], fill=(grey,) * 3, width=4)
    insects: list[Rect] = []
    for row in range(3):
        for col in range(3):
            x, y = 300 + col * 500, 400 + row * 550
            box = (x, y, x + 26, y + 12) if (row + col) % 2 else (x, y, x + 12, y + 26)
            pen.ellipse(box, fill=(150, 130, 115))
            insects.append(box)
    return image, insects


def test_small_insects_stand_out_of_a_smooth_sheet_and_a_coarse_weave_does_not() -> None:
    image, insects = small_insects_and_a_coarse_weave()
    found = [rect(box) for box in find_blobs(image)]
    assert matched(insects, found, 0.3) >= 8
    # Clumps of the weave the size of the insects are not counted (larger clumps of several
    # dashes, 60 px and over, can still be: docs/pipelines.md).
    weave = [box for box in found if box[0] > image.width / 2]
    assert not [box for box in weave if max(box[2] - box[0], box[3] - box[1]) < 50]


def test_the_fast_channel_and_label_counts_are_numpys_own() -> None:
    """The helpers the detector takes for speed give exactly what numpy's and scipy's own
    reductions give, NaN, infinities and float64 included."""
    import scipy

    from trapline.pipelines.blob_features import brightest_channel, darkest_channel
    from trapline.pipelines.blob_segmentation import _pixels_per_label

    rng = np.random.default_rng(7)
    for dtype in (np.float32, np.float64):
        colour = rng.normal(size=(40, 50, 3)).astype(dtype)
        colour[0, 0, 1], colour[1, 1, 2], colour[2, 2, 0] = np.nan, np.inf, -np.inf
        np.testing.assert_array_equal(darkest_channel(colour), colour.min(axis=-1))
        np.testing.assert_array_equal(brightest_channel(colour), colour.max(axis=-1))
    labels, count = scipy.ndimage.label(rng.random((60, 70)) > 0.6)
    where = rng.random((60, 70)) > 0.5
    index = np.arange(1, count + 1)
    assert count > 10
    np.testing.assert_array_equal(
        _pixels_per_label(labels, count),
        scipy.ndimage.sum_labels(np.ones_like(where), labels, index),
    )
    np.testing.assert_array_equal(
        _pixels_per_label(labels, count, where), scipy.ndimage.sum_labels(where, labels, index)
    )
