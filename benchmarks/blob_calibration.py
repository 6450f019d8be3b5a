"""Fit the insect score of ``moth-blobs`` on photos with drawn boxes, and check its calibration.

Every candidate blob the detector finds on the photos (before classification) is labelled an
insect when it overlaps a drawn insect at IoU 0.3, else not. Fasteners, scale bars and labels
(``blob_classes.is_ruled_out``) are left out: rules, not the score, decide them. A logistic
regression of the label on darkness, log size and standout (Newton's method with a light ridge
penalty: ``trapline.evaluation.blob_scorer``, the fit a project's detection scorer uses too)
gives the weights of ``ClassSettings``. The script prints the weights, the share of insects
per score band with the weights in use, and leave-one-photo-out figures: each photo run through
the pipeline's own classification and counting with weights fitted on the other photos only,
matched to its drawn boxes at IoU 0.3 (precision, recall, and recall of insects under 30 px).
The outline cut-off (``BlobSettings.min_edge``, under which a blob is a shadow) is fitted the
same way: half the softest outline of an insect on the other photos.

    python benchmarks/blob_calibration.py [--images DIR] [--truth FILE] [--ridge 0.1]
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import replace
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table
from detection import SHARED, TRUTH

from trapline.evaluation.blob_scorer import (
    Example,
    ReviewedPhoto,
    ScorerWeights,
    examples,
    fit,
)
from trapline.evaluation.metrics import Counts, Prediction, long_side, match
from trapline.evaluation.truth import load_truth
from trapline.pipelines.blob_classes import ClassSettings, insect_score
from trapline.pipelines.blob_segmentation import BlobSettings, blob_candidates
from trapline.pipelines.moth_blobs import classified, counted

#: Score bands of the calibration table.
BANDS = ((0.1, 0.3), (0.3, 0.5), (0.5, 0.7), (0.7, 0.9), (0.9, 1.0))
#: Long side, in the photo's pixels, under which a drawn insect counts as small.
SMALL = 30
#: The outline cut-off is this share of the softest outline of an insect it is fitted on.
EDGE_SHARE = 0.5


def photos(images: Path, truth: Path) -> list[ReviewedPhoto]:
    """The candidate blobs of every photo of ``truth``, each photo its own group; every insect
    on them is drawn, so each is whole."""
    found = []
    for photo in load_truth(truth):
        with Image.open(images / photo.file_name) as opened:
            image = opened.convert("RGB")
        candidates = tuple(blob_candidates(image, BlobSettings(min_edge=0.0)))
        found.append(
            ReviewedPhoto(
                photo.file_name, photo.file_name, candidates, tuple(photo.objects), whole=True
            )
        )
    return found


def edge_cut_off(chosen: list[Example]) -> float:
    """The outline cut-off fitted on ``chosen``: a share of its softest insect's outline."""
    return EDGE_SHARE * min(s.features.edge for s in chosen if s.insect)


def settings_of(weights: ScorerWeights, min_edge: float) -> BlobSettings:
    """The pipeline's settings with the insect score's weights ``weights`` and the outline
    cut-off ``min_edge``."""
    return replace(weights.settings(), min_edge=min_edge)


def held_out(chosen: list[ReviewedPhoto], ridge: float) -> list[list[object]]:
    """Per photo: its counts at IoU 0.3 and its small insects found, scored by weights fitted
    on the other photos only; the last row pools them."""
    rows: list[list[object]] = []
    pooled, small, small_found = Counts(), 0, 0
    for photo in chosen:
        others = [e for e in examples(chosen) if e.group != photo.group]
        settings = settings_of(fit(others, ridge), edge_cut_off(others))
        kept = [(box, f) for box, f in photo.candidates if f.edge >= settings.min_edge]
        boxes = counted(classified(kept, settings), settings)
        matching = match([Prediction((b.x1, b.y1, b.x2, b.y2)) for b in boxes],
                         list(photo.insects), 0.3)  # fmt: skip
        little = [long_side(rect) < SMALL for rect in photo.insects]
        found = sum(hit and tiny for hit, tiny in zip(matching.found, little, strict=True))
        counts = matching.counts
        pooled, small, small_found = pooled + counts, small + sum(little), small_found + found
        cut = f"{settings.min_edge:.3f}"
        rows.append(_held_out_row(str(photo.key), counts, sum(little), found, cut))
    rows.append(_held_out_row("all photos", pooled, small, small_found, ""))
    return rows


def _held_out_row(name: str, counts: Counts, small: int, found: int, cut: str) -> list[object]:
    truth = counts.true_positives + counts.misses
    return [
        name, truth, counts.true_positives + counts.false_positives,
        f"{counts.precision:.2f}", f"{counts.recall:.2f}", f"{found} of {small}", cut,
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Print the fitted weights, the calibration table and the leave-one-photo-out figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=SHARED, help="folder of photos")
    parser.add_argument("--truth", type=Path, default=TRUTH, help="ground truth for them")
    parser.add_argument("--ridge", type=float, default=0.1, help="ridge penalty")
    args = parser.parse_args(argv)
    if not args.images.is_dir():
        sys.exit(f"no photos at {args.images}")
    shot = photos(args.images, args.truth)
    chosen = examples(shot)
    weights = fit(chosen, args.ridge)
    in_use = ClassSettings()
    print_table(
        f"insect score weights ({len(chosen)} blobs, {sum(s.insect for s in chosen)} insects)",
        ["", "intercept", "darkness", "log size", "standout"],
        [
            ["fitted", *(f"{w:.2f}" for w in weights.as_dict().values())],
            [
                "in use",
                *(
                    f"{w:.2f}"
                    for w in (
                        in_use.bias,
                        in_use.darkness_weight,
                        in_use.size_weight,
                        in_use.standout_weight,
                    )
                ),
            ],
        ],
    )
    softest = {
        insect: min(s.features.edge for s in chosen if s.insect == insect)
        for insect in (True, False)
    }
    print_table(
        "outline cut-off (least contrast per working pixel across a blob's outline)",
        ["", "cut-off", "softest insect", "softest other blob"],
        [
            [
                "fitted",
                f"{edge_cut_off(chosen):.3f}",
                f"{softest[True]:.3f}",
                f"{softest[False]:.3f}",
            ],
            ["in use", f"{BlobSettings().min_edge:.3f}", "", ""],
        ],
    )
    scores = [(insect_score(s.features, in_use), s.insect) for s in chosen]
    rows = []
    for low, high in BANDS:
        band = [insect for score, insect in scores if low <= score < high or score == high == 1]
        share = f"{100 * sum(band) / len(band):.0f}%" if band else "-"
        rows.append([f"{low:.1f}-{high:.1f}", len(band), share])
    print_table("calibration with the weights in use", ["score", "blobs", "insects"], rows)
    print_table(
        f"each photo scored by weights fitted on the others (IoU 0.3, threshold "
        f"{in_use.threshold})",
        [
            "photo",
            "insects",
            "found",
            "precision",
            "recall",
            f"under {SMALL} px found",
            "outline cut-off",
        ],
        held_out(shot, args.ridge),
    )


if __name__ == "__main__":
    main()
