"""Shape and colour features of one blob ``moth-blobs`` found.

Computed on the crop of the blob's box only, so the cost is that of the blob, not the image.
Sizes are relative to the image, so the features mean the same at any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy
from numpy.typing import NDArray

FloatArray = NDArray[np.float32]
#: Pixels of any float type.
AnyFloats = NDArray[np.floating[Any]]

#: Contrast (relative drop below the sheet) above which a pixel counts as black.
BLACK_CONTRAST = 0.7


def darkest_channel(colour: AnyFloats) -> AnyFloats:
    """Each pixel's smallest channel: ``colour.min(axis=-1)``, the same numbers some 30 times
    as fast (numpy reduces a last axis of three slowly)."""
    return np.minimum(np.minimum(colour[..., 0], colour[..., 1]), colour[..., 2])


def brightest_channel(colour: AnyFloats) -> AnyFloats:
    """Each pixel's largest channel, as ``darkest_channel``."""
    return np.maximum(np.maximum(colour[..., 0], colour[..., 1]), colour[..., 2])


@dataclass(frozen=True)
class BlobFeatures:
    """What the classifier knows about one blob.

    Attributes:
        size: long side of the blob's box over the image's long side.
        elongation: length over width of the blob itself (from its second moments, so a
            diagonal insect is as elongated as an upright one); 1 for a disc.
        fill: share of the blob's box the blob covers (a disc 0.79, a rectangle 1).
        darkness: mean contrast of the blob's pixels, 0 (sheet) to 1 (black).
        black: share of the blob's pixels darker than ``BLACK_CONTRAST``.
        pale_centre: how much paler than the blob's mean the middle of the blob is (the
            middle fifth of its radius around its centroid): the bright eyelet of a fastener
            gives about 0.3; the body of an insect, darker than its wings, less than 0.
        at_border: whether the blob touches the edge of the image (cut off by it).
        saturation: mean colour saturation of the blob, 0 (grey, black) to 1, with its colour
            white-balanced against the sheet behind it (so under the photo's own light).
        hue: mean hue angle of the blob's colour, in degrees (0 red, 30 orange-brown, 60 yellow,
            120 green, 240 blue); meaningful only when ``saturation`` is not tiny.
        standout: how far the blob's darkest pixel is above the sheet's own texture around it
            (the 90th percentile of the contrast in a ring about the blob, ``sheet_texture``):
            a small insect stands out of a smooth or a coarse sheet alike, a fold or a smudge
            of a coarse sheet's weave does not.
        edge: how steeply the blob rises out of the sheet along its outline (median contrast
            gained per working pixel across it): a thing lying on the sheet has a sharp
            outline, a shadow or the light's fall-off into a corner a soft one.
    """

    size: float
    elongation: float
    fill: float
    darkness: float
    black: float
    pale_centre: float
    at_border: bool
    saturation: float
    hue: float
    standout: float
    edge: float


def blob_features(
    mask: NDArray[np.bool_],
    contrast: FloatArray,
    colour: FloatArray,
    *,
    image_long_side: int,
    at_border: bool,
    texture: float,
) -> BlobFeatures:
    """Features of one blob, given as the crops of its box.

    Args:
        mask: the blob's pixels within its box.
        contrast: the contrast image the blob was cut from, cropped to the box.
        colour: the RGB image (floats 0-255), white-balanced against the sheet (the sheet
            255, 255, 255), cropped to the box.
        image_long_side: the long side of the whole image, in the same pixels.
        at_border: whether the box touches the image's edge.
        texture: the sheet's texture around the blob (``sheet_texture``).
    """
    box_h, box_w = mask.shape
    rows, cols = np.nonzero(mask)
    area = rows.size
    if area == 0:
        return BlobFeatures(0, 1, 0, 0, 0, 0, at_border, 0, 0, -texture, 0)
    inside = contrast[mask]
    # Spread along the blob's long and short axes: eigenvalues of its pixels' covariance.
    spread = np.cov(np.stack([rows, cols]).astype(np.float64)) if area > 1 else np.eye(2)
    minor, major = np.linalg.eigvalsh(spread)
    elongation = float(np.sqrt(major / max(minor, 0.25)))
    darkness = float(inside.mean())
    # The middle: pixels within a fifth of the blob's radius of its centroid.
    reach = 0.2 * np.sqrt(area / np.pi)
    near = (rows - rows.mean()) ** 2 + (cols - cols.mean()) ** 2 <= reach**2
    middle = float(inside[near].mean()) if near.any() else darkness
    pixels = colour[mask]
    brightest = brightest_channel(pixels)
    saturation = float(((brightest - darkest_channel(pixels)) / np.maximum(brightest, 1.0)).mean())
    # Mean hue: the angle of the mean colour in the colour-opponent plane.
    red, green, blue = pixels.mean(axis=0)
    hue = float(np.degrees(np.arctan2((green - blue) * np.sqrt(3) / 2, red - (green + blue) / 2)))
    outline = mask & ~scipy.ndimage.binary_erosion(mask)
    slope = np.hypot(*np.gradient(contrast)) if min(box_h, box_w) > 1 else np.zeros_like(contrast)
    return BlobFeatures(
        size=max(box_h, box_w) / image_long_side,
        elongation=elongation,
        fill=area / (box_h * box_w),
        darkness=darkness,
        black=float((inside > BLACK_CONTRAST).mean()),
        pale_centre=darkness - middle,
        at_border=at_border,
        saturation=saturation,
        hue=hue % 360,
        standout=float(inside.max()) - texture,
        edge=float(np.median(slope[outline])) if outline.any() else 0.0,
    )


#: Side of the square around a blob whose ring (the square without the blob's box) gives the
#: sheet's texture, as a multiple of the box's long side; never under ``TEXTURE_LEAST`` pixels.
TEXTURE_REACH = 3.0
TEXTURE_LEAST = 24


def sheet_texture(contrast: FloatArray, rows: slice, cols: slice) -> float:
    """The 90th percentile of the contrast around a blob's box ``rows`` x ``cols``: how dark
    the sheet's own weave, folds and grain get there, so how much darker an insect must be."""
    height, width = contrast.shape
    reach = max(TEXTURE_REACH * max(rows.stop - rows.start, cols.stop - cols.start), TEXTURE_LEAST)
    middle_row, middle_col = (rows.start + rows.stop) / 2, (cols.start + cols.stop) / 2
    top, left = max(0, int(middle_row - reach / 2)), max(0, int(middle_col - reach / 2))
    window = contrast[top : min(height, int(middle_row + reach / 2)),
                      left : min(width, int(middle_col + reach / 2))]  # fmt: skip
    ring = np.ones(window.shape, dtype=bool)
    ring[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left] = False
    return float(np.percentile(window[ring], 90)) if ring.any() else 0.0
