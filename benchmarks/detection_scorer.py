"""A detection scorer refitted from drawn boxes, scored on photos it was not fitted on.

The platform's own code path (``trapline.evaluation.blob_scorer.cross_validate``), as a project's
detection scorer runs it, with each photo of the ground truth its own night: leave one photo
out. Every insect on these photos is drawn, so each photo is whole (a blob nobody drew is not
an insect). For each photo, the boxes ``moth-blobs`` counts with the weights it comes with
(before) and with weights fitted on the other photos only (after) are matched to the drawn
boxes at IoU 0.5.

The weights ``moth-blobs`` comes with were fitted on these same seven photos
(``benchmarks/blob_calibration.py``), so "before" is measured on photos they have seen, and
flatters them; "after" never saw the photo it is scored on.

    python benchmarks/detection_scorer.py [--images DIR] [--truth FILE]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import print_table
from detection import SHARED, TRUTH

from trapline.evaluation.blob_scorer import (
    ReviewedPhoto,
    Scored,
    cross_validate,
)
from trapline.evaluation.truth import load_truth
from trapline.pipelines.blob_segmentation import blob_candidates


def photos(images: Path, truth: Path) -> list[ReviewedPhoto]:
    """Each photo of ``truth``, its candidate blobs and drawn insects; its own group."""
    found = []
    for photo in load_truth(truth):
        with Image.open(images / photo.file_name) as opened:
            candidates = tuple(blob_candidates(opened.convert("RGB")))
        insects = tuple(photo.objects)
        found.append(
            ReviewedPhoto(photo.file_name, photo.file_name, candidates, insects, whole=True)
        )
    return found


def _row(name: str, before: Scored, after: Scored) -> list[object]:
    b, a = before.counts, after.counts
    return [
        name, b.true_positives + b.misses,
        b.true_positives + b.false_positives, f"{b.precision:.2f}", f"{b.recall:.2f}",
        a.true_positives + a.false_positives, f"{a.precision:.2f}", f"{a.recall:.2f}",
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Print the weights fitted on every photo and each photo held out, before and after."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=Path, default=SHARED, help="folder of photos")
    parser.add_argument("--truth", type=Path, default=TRUTH, help="ground truth for them")
    args = parser.parse_args(argv)
    if not args.images.is_dir():
        sys.exit(f"no photos at {args.images}")
    shot = photos(args.images, args.truth)
    result = cross_validate(shot, most_folds=len(shot))
    print_table(
        f"weights fitted on every photo ({result.insects} insect blobs, {result.others} others)",
        ["", "intercept", "darkness", "log size", "standout"],
        [["fitted", *(f"{w:.2f}" for w in result.weights.as_dict().values())]],
    )
    rows = [_row(str(f.photos[0]), f.before, f.after) for f in result.folds]
    rows.append(_row("all photos", result.before, result.after))
    print_table(
        "each photo held out (IoU 0.5 against the drawn boxes, threshold 0.5)",
        ["photo", "insects", "before: found", "precision", "recall",
         "after: found", "precision", "recall"],
        rows,
    )  # fmt: skip


if __name__ == "__main__":
    main()
