"""Appearance descriptors of detections: what tracking compares when a pipeline posts no
feature vector of its own (``domain/ecology/tracking.py``).

A descriptor is the colour histogram of the box's foreground pixels (those unlike its
border), 4 levels per channel (64 bins), scaled to unit length: cheap (one reduced decode of
the photo for all its boxes), unmoved by a box's size, and far apart for a pale moth and a
dark one of the same shape.

A refit on crops (decision 074) reads a longer **crop descriptor**: that histogram, then the
foreground's mean colour and its share of the box, the box's size, the foreground's elongation
and how busy its pattern is; each unmoved by which way the insect faces. ``crop_descriptors``
computes it for all boxes of a photo from the same one decode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import BinaryIO

import numpy as np

from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS, upright_pixels

#: The long side the photo is decoded at: boxes of a 4K photo keep a quarter of their pixels.
WORKING_SIDE = 1024
#: Levels per colour channel.
LEVELS = 4
#: How far (0-255, in any channel) a pixel is from the border's median colour to be foreground.
BACKGROUND_TOLERANCE = 40
#: The share of a region that must be foreground for the foreground alone to count.
MIN_FOREGROUND = 0.05
#: Numbers of a crop descriptor: the colour histogram, the foreground's mean colour (3) and
#: share of the box, the box's log area, the foreground's log elongation and its busyness.
CROP_LENGTH = LEVELS**3 + 3 + 1 + 1 + 1 + 1

Box = tuple[float, float, float, float]


def box_descriptors(
    stream: BinaryIO, boxes: Sequence[Box], *, limits: DecodeLimits = DEFAULT_LIMITS
) -> list[tuple[float, ...]]:
    """One descriptor per box (x1, y1, x2, y2 in pixels of the upright photo), in order."""
    return [histogram(region) for region, _ in _regions(stream, boxes, limits)]


def crop_descriptors(
    stream: BinaryIO, boxes: Sequence[Box], *, limits: DecodeLimits = DEFAULT_LIMITS
) -> list[tuple[float, ...]]:
    """One crop descriptor (``CROP_LENGTH`` numbers) per box, in order: what a refit on crops
    reads where a pipeline gives no features."""
    return [crop_descriptor(region, box) for region, box in _regions(stream, boxes, limits)]


def crop_descriptor(region: np.ndarray, box: Box) -> tuple[float, ...]:
    """The crop descriptor of an RGB ``region`` decoded from ``box`` (pixels of the photo)."""
    foreground = _foreground(region)
    mask = (
        foreground.reshape(region.shape[:2])
        if foreground is not None
        else np.ones(region.shape[:2], dtype=bool)
    )
    shown = region[mask].astype(np.float64)
    mean = shown.mean(axis=0) / 255.0
    area = max(1.0, box[2] - box[0]) * max(1.0, box[3] - box[1])
    return histogram(region) + tuple(float(m) for m in mean) + (
        float(mask.mean()), math.log(area), _elongation(mask), _busyness(region, mask)
    )  # fmt: skip


def _regions(
    stream: BinaryIO, boxes: Sequence[Box], limits: DecodeLimits
) -> list[tuple[np.ndarray, Box]]:
    """Each box's pixels (RGB, from one reduced decode of the photo) and the box."""
    if not boxes:
        return []
    pixels, (width, height) = upright_pixels(
        stream, lambda side: min(side, WORKING_SIDE), limits=limits
    )
    rgb = np.asarray(pixels.convert("RGB"))
    scale_x, scale_y = rgb.shape[1] / width, rgb.shape[0] / height
    found = []
    for box in boxes:
        x1, y1, x2, y2 = box
        left = min(max(0, math.floor(x1 * scale_x)), rgb.shape[1] - 1)
        top = min(max(0, math.floor(y1 * scale_y)), rgb.shape[0] - 1)
        right = max(left + 1, min(rgb.shape[1], math.ceil(x2 * scale_x)))
        bottom = max(top + 1, min(rgb.shape[0], math.ceil(y2 * scale_y)))
        found.append((rgb[top:bottom, left:right], box))
    return found


def _foreground(region: np.ndarray) -> np.ndarray | None:
    """The region's pixels unlike its border (a flat mask), or None when too few are."""
    pixels = region.reshape(-1, 3)
    ring = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    background = np.median(ring, axis=0)
    unlike = np.abs(pixels.astype(np.int16) - background).max(axis=1) > BACKGROUND_TOLERANCE
    return unlike if unlike.sum() >= max(1, MIN_FOREGROUND * len(pixels)) else None


def _elongation(mask: np.ndarray) -> float:
    """The log of how much longer than wide the foreground is, along its own axes (so however
    it is turned): 0 for a round blob."""
    rows, columns = np.nonzero(mask)
    if len(rows) < 3:
        return 0.0
    spread = np.cov(np.vstack([rows, columns]).astype(np.float64))
    small, large = np.linalg.eigvalsh(spread)
    return 0.5 * math.log((large + 1.0) / (small + 1.0))


def _busyness(region: np.ndarray, mask: np.ndarray) -> float:
    """How busy the foreground's pattern is: the mean strength of its edges (brightness steps
    between neighbouring pixels) over its mean brightness; a plain wing is near 0."""
    grey = region.astype(np.float32).mean(axis=2)
    if grey.shape[0] < 3 or grey.shape[1] < 3:
        return 0.0
    dy, dx = np.gradient(grey)
    strength = np.hypot(dx, dy)[mask]
    return float(strength.mean() / max(1.0, float(grey[mask].mean())))


def histogram(region: np.ndarray) -> tuple[float, ...]:
    """The unit-length colour histogram of the foreground of an RGB region (rows, columns, 3
    channels of uint8): the pixels unlike the region's border (the sheet, the ground), so that
    two insects on one white sheet do not look alike for sharing it. A region that is all
    background counts whole."""
    pixels = region.reshape(-1, 3)
    foreground = _foreground(region)
    if foreground is not None:
        pixels = pixels[foreground]
    levels = (pixels // (256 // LEVELS)).astype(np.int64)
    bins = (levels[:, 0] * LEVELS + levels[:, 1]) * LEVELS + levels[:, 2]
    counts = np.bincount(bins, minlength=LEVELS**3).astype(float)
    norm = float(np.linalg.norm(counts))
    return tuple(float(c) for c in counts / norm) if norm else tuple(counts.tolist())
