"""Fit the insect score of ``moth-blobs`` on photos with drawn boxes, and check its calibration.

Every candidate blob the detector finds on the photos (before classification) is labelled an
insect when it overlaps a drawn insect at IoU 0.3, else not. Fasteners, scale bars and labels
(``blob_classes.is_ruled_out``) are left out: rules, not the score, decide them. A logistic
regression of the label on darkness and log size (Newton's method with a light ridge penalty)
gives the weights of ``ClassSettings``. The script prints the weights, the share of insects
per score band with the weights in use, and the finds and false finds at the default
threshold when each photo is scored by weights fitted on the other photos only.

    python benchmarks/blob_calibration.py [--images DIR] [--truth FILE] [--ridge 0.1]
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table
from detection import SHARED, TRUTH

from trapline.evaluation.metrics import Prediction, match
from trapline.evaluation.truth import load_truth
from trapline.pipelines.blob_classes import ClassSettings, insect_score, is_ruled_out
from trapline.pipelines.blob_features import BlobFeatures
from trapline.pipelines.blob_segmentation import BlobSettings, blob_candidates

#: Score bands of the calibration table.
BANDS = ((0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))


@dataclass(frozen=True)
class Sample:
    """One candidate blob: the photo it is on, its features and whether it is an insect."""

    photo: str
    features: BlobFeatures
    insect: bool


def samples(images: Path, truth: Path) -> list[Sample]:
    """Every candidate blob on the photos of ``truth``, labelled by the drawn insects."""
    found = []
    for photo in load_truth(truth):
        with Image.open(images / photo.file_name) as opened:
            image = opened.convert("RGB")
        candidates = blob_candidates(image, BlobSettings())
        boxes = [Prediction((b.x1, b.y1, b.x2, b.y2)) for b, _ in candidates]
        matching = match(boxes, photo.objects, 0.3)
        found += [
            Sample(photo.file_name, features, hit is not None)
            for (_, features), hit in zip(candidates, matching.matches, strict=True)
            if not is_ruled_out(features)
        ]
    return found


def design(chosen: list[Sample]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The regression's inputs (1, darkness, log size over 1%) and labels."""
    rows = [[1.0, s.features.darkness, math.log(max(s.features.size, 1e-6) / 0.01)] for s in chosen]
    return np.array(rows), np.array([1.0 if s.insect else 0.0 for s in chosen])


def fit(chosen: list[Sample], ridge: float) -> NDArray[np.float64]:
    """Logistic regression weights by Newton's method; the intercept is not penalised."""
    inputs, labels = design(chosen)
    weights = np.zeros(inputs.shape[1])
    penalty = ridge * np.eye(len(weights))
    penalty[0, 0] = 0.0
    for _ in range(100):
        chance = 1.0 / (1.0 + np.exp(-inputs @ weights))
        gradient = inputs.T @ (labels - chance) - penalty @ weights
        hessian = inputs.T @ (inputs * (chance * (1 - chance))[:, None]) + penalty
        weights = weights + np.linalg.solve(hessian, gradient)
    return weights


def main(argv: list[str] | None = None) -> None:
    """Print the fitted weights, the calibration table and the leave-one-photo-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=SHARED, help="folder of photos")
    parser.add_argument("--truth", type=Path, default=TRUTH, help="ground truth for them")
    parser.add_argument("--ridge", type=float, default=0.1, help="ridge penalty")
    args = parser.parse_args(argv)
    if not args.images.is_dir():
        sys.exit(f"no photos at {args.images}")
    chosen = samples(args.images, args.truth)
    weights = fit(chosen, args.ridge)
    in_use = ClassSettings()
    print_table(
        f"insect score weights ({len(chosen)} blobs, {sum(s.insect for s in chosen)} insects)",
        ["", "intercept", "darkness", "log size"],
        [
            ["fitted", *(f"{w:.2f}" for w in weights)],
            [
                "in use",
                *(f"{w:.2f}" for w in (in_use.bias, in_use.darkness_weight, in_use.size_weight)),
            ],
        ],
    )
    scores = [(insect_score(s.features, in_use), s.insect) for s in chosen]
    rows = []
    for low, high in BANDS:
        band = [insect for score, insect in scores if low <= score < high or score == high == 1]
        share = f"{100 * sum(band) / len(band):.0f}%" if band else "-"
        rows.append([f"{low:.1f}-{high:.1f}", len(band), share])
    print_table("calibration with the weights in use", ["score", "blobs", "insects"], rows)
    hits = false = 0
    for photo in sorted({s.photo for s in chosen}):
        others = fit([s for s in chosen if s.photo != photo], args.ridge)
        inputs, labels = design([s for s in chosen if s.photo == photo])
        kept = 1.0 / (1.0 + np.exp(-inputs @ others)) >= in_use.threshold
        hits += int(np.sum(kept & (labels == 1)))
        false += int(np.sum(kept & (labels == 0)))
    everything = np.array([score >= in_use.threshold for score, _ in scores])
    insects = np.array([insect for _, insect in scores])
    print_table(
        f"finds at threshold {in_use.threshold}",
        ["weights", "insects found", "false finds"],
        [
            ["in use", int(np.sum(everything & insects)), int(np.sum(everything & ~insects))],
            ["each photo left out of its fit", hits, false],
        ],
    )


if __name__ == "__main__":
    main()
