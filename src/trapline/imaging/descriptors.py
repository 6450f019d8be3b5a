"""Appearance descriptors of detections: what tracking compares when a pipeline posts no
feature vector of its own (``domain/ecology/tracking.py``).

A descriptor is the colour histogram of the box's foreground pixels (those unlike its
border), 4 levels per channel (64 bins), scaled to unit length: cheap (one reduced decode of
the photo for all its boxes), unmoved by a box's size, and far apart for a pale moth and a
dark one of the same shape.
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


def box_descriptors(
    stream: BinaryIO,
    boxes: Sequence[tuple[float, float, float, float]],
    *,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> list[tuple[float, ...]]:
    """One descriptor per box (x1, y1, x2, y2 in pixels of the upright photo), in order."""
    if not boxes:
        return []
    pixels, (width, height) = upright_pixels(
        stream, lambda side: min(side, WORKING_SIDE), limits=limits
    )
    rgb = np.asarray(pixels.convert("RGB"))
    scale_x, scale_y = rgb.shape[1] / width, rgb.shape[0] / height
    found = []
    for x1, y1, x2, y2 in boxes:
        left = min(max(0, math.floor(x1 * scale_x)), rgb.shape[1] - 1)
        top = min(max(0, math.floor(y1 * scale_y)), rgb.shape[0] - 1)
        right = max(left + 1, min(rgb.shape[1], math.ceil(x2 * scale_x)))
        bottom = max(top + 1, min(rgb.shape[0], math.ceil(y2 * scale_y)))
        found.append(histogram(rgb[top:bottom, left:right]))
    return found


def histogram(region: np.ndarray) -> tuple[float, ...]:
    """The unit-length colour histogram of the foreground of an RGB region (rows, columns, 3
    channels of uint8): the pixels unlike the region's border (the sheet, the ground), so that
    two insects on one white sheet do not look alike for sharing it. A region that is all
    background counts whole."""
    pixels = region.reshape(-1, 3)
    ring = np.concatenate([region[0], region[-1], region[:, 0], region[:, -1]])
    background = np.median(ring, axis=0)
    unlike = np.abs(pixels.astype(np.int16) - background).max(axis=1) > BACKGROUND_TOLERANCE
    if unlike.sum() >= max(1, MIN_FOREGROUND * len(pixels)):
        pixels = pixels[unlike]
    levels = (pixels // (256 // LEVELS)).astype(np.int64)
    bins = (levels[:, 0] * LEVELS + levels[:, 1]) * LEVELS + levels[:, 2]
    counts = np.bincount(bins, minlength=LEVELS**3).astype(float)
    norm = float(np.linalg.norm(counts))
    return tuple(float(c) for c in counts / norm) if norm else tuple(counts.tolist())
