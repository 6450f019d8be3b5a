"""Shape and colour features of the blobs ``moth-blobs`` finds, one row per blob.

Every feature is computed for all blobs at once from the labelled mask (``scipy.ndimage``
reductions over the labels), so the cost does not grow with the number of blobs. Sizes are
relative to the image, so the features mean the same at any resolution.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import ndimage

FloatArray = NDArray[np.float32]

#: Pixels from the image's edge within which a blob touches it (morphology at the edge leaves
#: a blob that reaches it a pixel or two short).
BORDER_REACH = 3
#: Contrast (relative drop below the sheet) above which a pixel counts as black.
BLACK_CONTRAST = 0.7


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
        saturation: mean colour saturation of the blob, 0 (grey, black) to 1.
        hue: mean hue angle of the blob's colour, in degrees (0 red, 30 orange-brown, 60 yellow,
            120 green, 240 blue); meaningful only when ``saturation`` is not tiny.
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


def blob_features(
    labels: NDArray[np.int32],
    count: int,
    contrast: FloatArray,
    colour: FloatArray,
) -> list[BlobFeatures]:
    """Features of blobs 1..``count`` of ``labels``.

    Args:
        labels: the blobs, numbered from 1 (0 is the sheet).
        count: how many blobs there are.
        contrast: the contrast image the blobs were cut from.
        colour: the RGB image (floats 0-255) of the same size.
    """
    if count == 0:
        return []
    index = np.arange(1, count + 1)
    height, width = labels.shape
    ones = np.ones(labels.shape, dtype=np.float32)
    area = ndimage.sum_labels(ones, labels, index)
    rows, cols = np.mgrid[0:height, 0:width].astype(np.float32)
    mean_r = ndimage.mean(rows, labels, index)
    mean_c = ndimage.mean(cols, labels, index)
    var_r = ndimage.mean(rows * rows, labels, index) - mean_r**2
    var_c = ndimage.mean(cols * cols, labels, index) - mean_c**2
    cov = ndimage.mean(rows * cols, labels, index) - mean_r * mean_c
    # Eigenvalues of the covariance: the spread along the blob's long and short axes.
    half_trace = (var_r + var_c) / 2
    spread = np.sqrt(np.maximum(half_trace**2 - (var_r * var_c - cov**2), 0.0))
    major = half_trace + spread
    minor = np.maximum(half_trace - spread, 0.25)
    elongation = np.sqrt(major / minor)
    darkness = ndimage.mean(contrast, labels, index)
    black = ndimage.mean((contrast > BLACK_CONTRAST).astype(np.float32), labels, index)
    # The middle of each blob: pixels within a fifth of its radius of its centroid.
    radius = np.sqrt(area / np.pi)
    lookup = np.concatenate([[0.0], mean_r]), np.concatenate([[0.0], mean_c])
    reach = np.concatenate([[0.0], (0.2 * radius) ** 2])
    middle = ((rows - lookup[0][labels]) ** 2 + (cols - lookup[1][labels]) ** 2) <= reach[labels]
    middle &= labels > 0
    middle_labels = np.where(middle, labels, 0)
    middle_area = ndimage.sum_labels(middle, middle_labels, index)
    middle_sum = ndimage.sum_labels(contrast, middle_labels, index)
    middle_darkness = np.where(middle_area > 0, middle_sum / np.maximum(middle_area, 1), darkness)
    brightest = colour.max(axis=-1)
    chroma = brightest - colour.min(axis=-1)
    saturation = ndimage.mean(chroma / np.maximum(brightest, 1.0), labels, index)
    # Mean hue as the angle of the mean colour vector in the colour-opponent plane.
    red, green, blue = colour[..., 0], colour[..., 1], colour[..., 2]
    alpha = ndimage.mean(red - (green + blue) / 2, labels, index)
    beta = ndimage.mean((green - blue) * (np.sqrt(3) / 2), labels, index)
    hue = np.degrees(np.arctan2(beta, alpha)) % 360
    boxes = ndimage.find_objects(labels, max_label=count)
    features = []
    for number, found in enumerate(boxes):
        if found is None:
            features.append(BlobFeatures(0, 1, 0, 0, 0, 0, False, 0, 0))
            continue
        box_h = found[0].stop - found[0].start
        box_w = found[1].stop - found[1].start
        features.append(
            BlobFeatures(
                size=max(box_h, box_w) / max(height, width),
                elongation=float(elongation[number]),
                fill=float(area[number] / (box_h * box_w)),
                darkness=float(darkness[number]),
                black=float(black[number]),
                pale_centre=float(darkness[number] - middle_darkness[number]),
                at_border=(
                    min(found[0].start, found[1].start) <= BORDER_REACH
                    or found[0].stop >= height - BORDER_REACH
                    or found[1].stop >= width - BORDER_REACH
                ),
                saturation=float(saturation[number]),
                hue=float(hue[number]),
            )
        )
    return features
