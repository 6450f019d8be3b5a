"""Segmentation for ``moth-blobs``: the blobs on a light-trap photo that could be insects.

No model, no weights: the sheet is bright and smooth, insects are darker or more colourful than
the sheet around them. The work is done on a reduced copy of the photo:

1. estimate the sheet's colour behind every pixel: a blur of what looks like sheet, repeated so
   insects drop out of the estimate (this follows the light's fall-off towards the edges);
2. contrast: how much darker than the sheet a pixel is in its darkest channel, relative to the
   sheet (so a green, yellow or pale moth counts, not only a dark one);
3. threshold with hysteresis (a blob needs some strong pixels; weaker ones join it), open away
   legs, antennae and grain, close the pale bands of patterned wings, fill holes;
4. cut blobs of insects joined by a leg or an antenna apart at the narrow neck, and blobs of
   a pale insect and a dark one lying over it apart along the waist between their bodies;
5. keep blobs of insect size and shape, each with its features (``blob_features``) for the
   classifier.

A photo that is not of a lit sheet gives no blobs, and says why (``scan``): most of a light-trap
photo is a smooth, bright surface (the sheet), while a camera-trap scene, a close-up or a dark
frame is textured or dim all over.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import scipy
from numpy.typing import NDArray
from PIL import Image

from trapline.pipelines.base import Box
from trapline.pipelines.blob_classes import ClassSettings
from trapline.pipelines.blob_features import (
    BlobFeatures,
    blob_features,
    brightest_channel,
    darkest_channel,
    sheet_texture,
)

FloatArray = NDArray[np.float32]


@dataclass(frozen=True)
class BlobSettings:
    """The detector's knobs; sizes are fractions of the image so they hold at any resolution."""

    #: Long side, in pixels, of the reduced copy the detector works on.
    work_size: int = 1280
    #: Blur, as a fraction of the short side, that smooths the sheet's texture away but keeps
    #: the fall-off of the light towards the edges.
    background_blur: float = 0.03
    #: Relative drop below the sheet, in the darkest channel, that starts a blob.
    seed_contrast: float = 0.2
    #: Relative drop a pixel next to a blob needs to join it.
    grow_contrast: float = 0.10
    #: Smallest blob, as the long side of its box over the image's long side.
    min_size: float = 0.005
    #: Largest blob, as the long side of its box over the image's short side.
    max_size: float = 0.5
    #: Longest over shortest side of a blob's box; sheet folds and scratches are longer.
    max_aspect: float = 5.0
    #: Least share of its box a blob must fill; thin curves and outlines fill less.
    min_fill: float = 0.2
    #: Least ``edge`` (contrast gained per working pixel across the outline): softer blobs are
    #: shadows and the light's fall-off, not things on the sheet. Half the softest insect's on
    #: the shared photos (0.038; a shadow falling into a corner rises at 0.005), fitted leaving
    #: one photo out by ``benchmarks/blob_calibration.py``.
    min_edge: float = 0.02
    #: Radius, in working pixels, of the disc that cuts the necks between touching insects.
    neck_radius: int = 3
    #: Least size of each part a blob is cut into, as the side of a square of the same area
    #: over the image's long side; smaller parts stay with their blob.
    min_split_size: float = 0.015
    #: Overlapping insects: a blob's cores are where the distance to its edge exceeds this share
    #: of its deepest point (two bodies with a waist between them give two cores).
    overlap_level: float = 0.5
    #: A core counts when its deepest point is this many times the level that cut it out (a
    #: shallow bump on a wing is not a second insect).
    overlap_prominence: float = 1.3
    #: Least depth of a core's deepest point, as a fraction of the image's long side.
    overlap_min_depth: float = 0.006
    #: A blob is divided among its cores only when the darkest (mean contrast) is this many
    #: times as dark as the palest: the two wings of one moth are alike, a pale moth under a
    #: dark one is not.
    overlap_darkness_ratio: float = 2.0
    #: Least insect score (see ``blob_classes``) a blob must reach to be reported at all;
    #: fainter blobs are grain and stains, not worth a ``not an insect`` label. Fasteners,
    #: scale bars and labels are always reported.
    min_score: float = 0.1
    #: Least share of the image that must look like sheet (within ``grow_contrast`` of the
    #: sheet estimate); below it the photo is not of a lit sheet and no blobs are reported.
    #: Fitted, with ``min_sheet_brightness``, by benchmarks/sheet_check.py (leave one scene out).
    min_sheet_share: float = 0.73
    #: Least median brightness (brightest channel, 0-255) of the sheet estimate: a lit sheet
    #: is the brightest thing in its photo; an infrared night scene is dim all over.
    min_sheet_brightness: float = 135.0
    #: Depth, as a fraction of the short side, of the strip along the border where blobs are
    #: dropped: burned-in captions, the frame's edge, insects mostly outside the picture.
    border_strip: float = 0.02
    #: Margin added around each box, as a fraction of its long side: thresholding trims the
    #: soft edges of wings.
    margin: float = 0.03
    #: The classifier stage's knobs, with the pipeline's default threshold.
    classes: ClassSettings = field(default_factory=ClassSettings)


class Sheet(NamedTuple):
    """What a photo shows of a lit sheet: the share of it that looks like sheet, and how
    bright the sheet is (median of its brightest channel, 0-255)."""

    share: float
    brightness: float

    def refusal(self, settings: BlobSettings) -> str | None:
        """Why the photo is not of a lit sheet, or None when it is."""
        if self.share < settings.min_sheet_share:
            return (
                f"not a light-trap photo: {self.share:.0%} of it looks like a lit sheet"
                f" (at least {settings.min_sheet_share:.0%} needed)"
            )
        if self.brightness < settings.min_sheet_brightness:
            return (
                f"not a light-trap photo: its background is too dim for a lit sheet"
                f" (brightness {self.brightness:.0f} of 255, at least"
                f" {settings.min_sheet_brightness:.0f} needed)"
            )
        return None


class Scan(NamedTuple):
    """The candidate blobs of a photo, or none and why (``refusal``)."""

    candidates: list[tuple[Box, BlobFeatures]]
    sheet: Sheet
    refusal: str | None


def scan(image: Image.Image, settings: BlobSettings = BlobSettings()) -> Scan:
    """Blobs of insect size and shape on a light-trap photo, with their features, unclassified;
    none, with the reason, when the photo is not of a lit sheet.

    Boxes are in pixels of ``image`` and have no score yet.
    """
    rgb = image if image.mode == "RGB" else image.convert("RGB")
    work, factor = _reduced(rgb, settings.work_size)
    colour = np.asarray(work, dtype=np.float32)
    background = _sheet(colour, settings)
    contrast = _contrast(colour, background)
    sheet = Sheet(
        share=float(np.mean(contrast <= settings.grow_contrast)),
        brightness=float(np.median(brightest_channel(background))),
    )
    refusal = sheet.refusal(settings)
    if refusal is not None:
        return Scan([], sheet, refusal)
    candidates = [
        (
            Box(
                x1=box.x1 * factor[0],
                y1=box.y1 * factor[1],
                x2=box.x2 * factor[0],
                y2=box.y2 * factor[1],
                score=0.0,
            ),
            features,
        )
        for box, features in _candidates(contrast, _balanced(colour, background), settings)
    ]
    return Scan(candidates, sheet, None)


def blob_candidates(
    image: Image.Image, settings: BlobSettings = BlobSettings()
) -> list[tuple[Box, BlobFeatures]]:
    """The candidate blobs of ``scan``, without the reason when there are none."""
    return scan(image, settings).candidates


def _reduced(image: Image.Image, long_side: int) -> tuple[Image.Image, tuple[float, float]]:
    """``image`` shrunk to ``long_side`` (never enlarged) and the scale back, per axis."""
    width, height = image.size
    ratio = long_side / max(width, height)
    if ratio >= 1:
        return image, (1.0, 1.0)
    size = (max(1, round(width * ratio)), max(1, round(height * ratio)))
    reduced = image.resize(size, Image.Resampling.BILINEAR, reducing_gap=2.0)
    return reduced, (width / size[0], height / size[1])


def _sheet(colour: FloatArray, settings: BlobSettings) -> FloatArray:
    """The sheet's colour behind every pixel, as if no insect were there."""
    height, width, _ = colour.shape
    # The sheet varies slowly (vignetting, folds), so estimate it on a thumbnail of about
    # 128 pixels on the short side and scale it back up.
    step = max(1, min(height, width) // 128)
    rows, cols = height // step, width // step
    small = colour[: rows * step, : cols * step].reshape(rows, step, cols, step, 3).mean((1, 3))
    sigma = settings.background_blur * min(rows, cols)
    sheet_pixels = np.ones((rows, cols), dtype=bool)
    # Blur only what looks like sheet; each round recognises insects better and leaves them out.
    for _ in range(3):
        sheet = _masked_blur(small, sheet_pixels, sigma)
        insects = _contrast(small, sheet, smooth=False) > settings.grow_contrast
        sheet_pixels = ~scipy.ndimage.binary_dilation(insects)
    planes = [
        Image.fromarray(np.ascontiguousarray(sheet[..., channel])).resize(
            (width, height), Image.Resampling.BILINEAR
        )
        for channel in range(3)
    ]
    return np.stack([np.asarray(plane, dtype=np.float32) for plane in planes], axis=-1)


def _masked_blur(colour: FloatArray, weights: NDArray[np.bool_], sigma: float) -> FloatArray:
    """Gaussian blur of ``colour`` over the pixels where ``weights`` is set only.

    Where no such pixel is near (a large insect), a blur four times as wide fills in; where
    there is none at all, the mean of the whole image.
    """
    weight = weights.astype(np.float32)
    weighted = colour * weight[..., None]
    blurred = np.empty_like(colour)
    fallback = colour.reshape(-1, 3).mean(axis=0)
    if weight.any():
        fallback = weighted.reshape(-1, 3).sum(axis=0) / weight.sum()
    for width in (4 * sigma, sigma):
        total = scipy.ndimage.gaussian_filter(weight, width, mode="nearest")
        sums = scipy.ndimage.gaussian_filter(weighted, (width, width, 0), mode="nearest")
        known = total > 0.05
        blurred = np.where(
            known[..., None],
            sums / np.maximum(total, 1e-6)[..., None],
            fallback if width > sigma else blurred,
        ).astype(np.float32)
    return blurred


def _balanced(colour: FloatArray, sheet: FloatArray) -> FloatArray:
    """``colour`` white-balanced against the sheet behind it (the sheet comes out white), so a
    blob's colour is measured against its own photo's light: a grey scale bar stays grey under
    a warm lamp, a brown moth stays brown under a cold one."""
    return np.asarray(np.clip(colour / np.maximum(sheet, 8.0) * 255.0, 0.0, 255.0), np.float32)


def _contrast(colour: FloatArray, sheet: FloatArray, *, smooth: bool = True) -> FloatArray:
    """Relative drop below the sheet in the darkest channel, 0 (sheet) to 1 (black)."""
    if smooth:
        # Sensor grain is per channel; a light blur keeps it from reading as contrast.
        colour = scipy.ndimage.gaussian_filter(colour, sigma=(1.0, 1.0, 0.0))
    ratio = colour / np.maximum(sheet, 8.0)
    return np.asarray(np.clip(1.0 - darkest_channel(ratio), 0.0, 1.0), dtype=np.float32)


def _candidates(
    contrast: FloatArray, colour: FloatArray, settings: BlobSettings
) -> list[tuple[Box, BlobFeatures]]:
    """Blobs of insect size and shape, as boxes in pixels of ``contrast``, with their features."""
    height, width = contrast.shape
    mask = contrast > settings.grow_contrast
    # Opening drops legs, antennae and grain, and with them many bridges between insects that
    # touch; closing then bridges the pale bands of patterned wings.
    mask = scipy.ndimage.binary_opening(mask, structure=np.ones((3, 3)))
    mask = scipy.ndimage.binary_closing(mask, structure=np.ones((3, 3)))
    solid = scipy.ndimage.binary_fill_holes(mask)
    labels, count = _overlaps_divided(*_separated(solid, settings), contrast, mask, settings)
    if count == 0:
        return []
    seeded = _pixels_per_label(labels, count, contrast >= settings.seed_contrast) > 0
    areas = _pixels_per_label(labels, count, solid)
    smallest = settings.min_size * max(height, width)
    largest = settings.max_size * min(height, width)
    found = []
    for number, place in enumerate(scipy.ndimage.find_objects(labels)):
        if place is None or not seeded[number]:
            continue
        rows, cols = place
        box_h, box_w = rows.stop - rows.start, cols.stop - cols.start
        long_side, short_side = max(box_h, box_w), min(box_h, box_w)
        if (
            _in_border_strip(rows, cols, (height, width), settings.border_strip)
            or long_side < smallest
            or long_side > largest
            or long_side > settings.max_aspect * short_side
            or areas[number] < settings.min_fill * box_h * box_w
        ):
            continue
        features = blob_features(
            labels[place] == number + 1,
            contrast[place],
            colour[place],
            image_long_side=max(height, width),
            at_border=_at_border(rows, cols, (height, width)),
            texture=sheet_texture(contrast, rows, cols),
        )
        if features.edge < settings.min_edge:
            continue
        pad = settings.margin * long_side
        box = Box(
            x1=max(0.0, cols.start - pad),
            y1=max(0.0, rows.start - pad),
            x2=min(float(width), cols.stop + pad),
            y2=min(float(height), rows.stop + pad),
            score=0.0,
        )
        found.append((box, features))
    return found


#: Pixels from the image's edge within which a blob touches it: morphology at the edge leaves
#: a blob that reaches it a pixel or two short.
NEAR_BORDER = 3


def _at_border(rows: slice, cols: slice, shape: tuple[int, int]) -> bool:
    """Whether a blob's box touches the image's edge."""
    height, width = shape
    return bool(
        min(rows.start, cols.start) <= NEAR_BORDER
        or rows.stop >= height - NEAR_BORDER
        or cols.stop >= width - NEAR_BORDER
    )


def _in_border_strip(rows: slice, cols: slice, shape: tuple[int, int], strip: float) -> bool:
    """Whether a blob touches the border and reaches less than ``strip`` into the image."""
    height, width = shape
    depth = strip * min(height, width)
    near = NEAR_BORDER
    return bool(
        (rows.start <= near and rows.stop < depth)
        or (rows.stop >= height - near and height - rows.start < depth)
        or (cols.start <= near and cols.stop < depth)
        or (cols.stop >= width - near and width - cols.start < depth)
    )


def _pixels_per_label(
    labels: NDArray[np.int32], count: int, where: NDArray[np.bool_] | None = None
) -> NDArray[np.intp]:
    """How many pixels (of ``where``, else all) carry each label 1..``count``."""
    chosen = labels if where is None else labels[where]
    return np.bincount(chosen.ravel(), minlength=count + 1)[1:]


def _separated(mask: NDArray[np.bool_], settings: BlobSettings) -> tuple[NDArray[np.int32], int]:
    """Labelled blobs of ``mask``, with insects joined by legs or antennae cut apart.

    An opening with a disc removes the narrow necks between touching insects; a blob that
    falls into two or more big cores is divided, each pixel going to its nearest core.
    """
    labels, count = scipy.ndimage.label(mask)
    radius = settings.neck_radius
    across = np.arange(-radius, radius + 1)
    disc = across[:, None] ** 2 + across[None, :] ** 2 <= radius**2
    cores, core_count = scipy.ndimage.label(scipy.ndimage.binary_opening(mask, structure=disc))
    if core_count < 2:
        return labels, count
    big = _pixels_per_label(cores, core_count) >= (settings.min_split_size * max(mask.shape)) ** 2
    if np.count_nonzero(big) < 2:
        return labels, count
    cores = np.where(np.concatenate([[False], big])[cores], cores, 0)
    # Each core lies within one blob; count the big cores of every blob.
    owner = np.zeros(core_count + 1, dtype=np.int64)
    owner[cores] = labels
    split = np.bincount(owner[1:][big], minlength=count + 1) >= 2
    split[0] = False
    nearest = scipy.ndimage.distance_transform_edt(
        cores == 0, return_distances=False, return_indices=True
    )
    nearest_core = cores[nearest[0], nearest[1]]
    divide = split[labels] & (owner[nearest_core] == labels)
    pieces = np.where(divide, count + nearest_core, labels)
    # Number the pieces 1, 2, 3… again (0 stays the background), without gaps.
    present = np.zeros(count + core_count + 1, dtype=bool)
    present[pieces] = True
    present[0] = True
    renumber = np.cumsum(present) - 1
    return renumber[pieces].astype(np.int32), int(renumber[-1])


def _overlaps_divided(
    labels: NDArray[np.int32],
    count: int,
    contrast: FloatArray,
    insect: NDArray[np.bool_],
    settings: BlobSettings,
) -> tuple[NDArray[np.int32], int]:
    """``labels`` with each blob of a pale insect and a dark one over it divided in two.

    Such a blob has no narrow neck, but a waist between the two bodies. Only blobs broad enough
    to hold two cores are looked at; the new pieces are numbered after ``count``. ``insect``
    is the mask before its holes were filled: the sheet seen through a wing is no pale insect.
    """
    least = settings.overlap_min_depth * max(labels.shape)
    divided = labels
    for number, place in enumerate(scipy.ndimage.find_objects(labels), start=1):
        if place is None or min(side.stop - side.start for side in place) < 2 * least:
            continue
        blob = labels[place] == number
        parts = _overlap_parts(blob, contrast[place], insect[place], least, settings)
        if parts is None:
            continue
        if divided is labels:
            divided = labels.copy()
        later = blob & (parts > 1)
        divided[place][later] = count + parts[later] - 1
        count += int(parts.max()) - 1
    return divided, count


def _overlap_parts(
    blob: NDArray[np.bool_],
    contrast: FloatArray,
    insect: NDArray[np.bool_],
    least: float,
    settings: BlobSettings,
) -> NDArray[np.intp] | None:
    """The pieces (1, 2, …) a blob of overlapping insects falls into, or None if it is one.

    The distance to the blob's edge has a peak in each body; the cores are where it exceeds
    ``overlap_level`` of the deepest point. Two or more prominent cores, the darkest at least
    ``overlap_darkness_ratio`` times as dark as the palest (each core's darkness measured over
    its ``insect`` pixels), divide the blob: every pixel goes to its nearest core.
    """
    depth = scipy.ndimage.distance_transform_edt(np.pad(blob, 1))[1:-1, 1:-1]
    level = max(settings.overlap_level * float(depth.max()), settings.neck_radius)
    cores, count = scipy.ndimage.label(depth > level)
    if count < 2:
        return None
    index = np.arange(1, count + 1)
    peaks = scipy.ndimage.maximum(depth, cores, index)
    kept = (peaks >= least) & (peaks >= settings.overlap_prominence * level)
    if np.count_nonzero(kept) < 2:
        return None
    seen = np.where(insect, cores, 0)
    pixels = scipy.ndimage.sum_labels(insect, seen, index)[kept]
    if not pixels.all():  # a core wholly in a hole: nothing to judge its darkness by
        return None
    darkness = scipy.ndimage.sum_labels(contrast, seen, index)[kept] / pixels
    if darkness.max() < settings.overlap_darkness_ratio * darkness.min():
        return None
    # Number the kept cores 1, 2, … and drop the others.
    cores = np.concatenate([[0], np.cumsum(kept) * kept])[cores]
    nearest = scipy.ndimage.distance_transform_edt(
        cores == 0, return_distances=False, return_indices=True
    )
    return np.asarray(cores[nearest[0], nearest[1]])
