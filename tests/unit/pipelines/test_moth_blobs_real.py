"""``moth-blobs`` against the boxes drawn on the seven shared light-trap photos.

The photos are the developers' shared data, not part of the repository: these tests look for
``shared/data/moth-trap-images`` beside this checkout or any folder above it, and skip (saying
where they looked) when it is not there. The ground truth is in the repository.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from trapline.evaluation.metrics import Prediction, match
from trapline.evaluation.run import Report, evaluate
from trapline.evaluation.truth import load_truth
from trapline.pipelines.base import SourceImage
from trapline.pipelines.blob_classes import NOT_AN_INSECT
from trapline.pipelines.moth_blobs import MothBlobsPipeline, detect_blobs

REPO = Path(__file__).resolve().parents[3]
TRUTH = REPO / "data/ground-truth/moth-trap-images.coco.json"
PHOTOS = next(
    (
        folder / "shared/data/moth-trap-images"
        for folder in REPO.parents
        if (folder / "shared/data/moth-trap-images").is_dir()
    ),
    None,
)

pytestmark = [
    pytest.mark.skipif(
        PHOTOS is None, reason=f"no shared/data/moth-trap-images in any folder above {REPO}"
    ),
    # One worker evaluates the photos once for every test of the module.
    pytest.mark.xdist_group("unit/test_moth_blobs_real"),
]


@pytest.fixture(scope="module")
def report() -> Report:
    assert PHOTOS is not None
    return evaluate(MothBlobsPipeline(), PHOTOS, load_truth(TRUTH))


def test_overall_recall_and_precision_at_iou_0_3(report: Report) -> None:
    overall = report.overall(0.3)
    assert overall.recall >= 0.80
    assert overall.precision >= 0.70


def test_no_photo_below_half_recall(report: Report) -> None:
    for image in report.images:
        assert image.counts(0.3).recall >= 0.5, image.truth.file_name


def test_fasteners_scale_bars_and_captions_are_not_counted(report: Report) -> None:
    # The not-insect regions of the Denmark photo are brown stains, which still pass for
    # insects; everywhere else they are fasteners, a scale bar and burned-in captions.
    for image in report.images:
        if not image.truth.file_name.startswith("denmark"):
            assert image.on_not_objects == 0, image.truth.file_name


def test_the_photo_that_is_no_light_trap_gives_nothing(report: Report) -> None:
    (butterfly,) = [i for i in report.images if i.truth.file_name == "DSLR-DSC_0390.JPG"]
    assert butterfly.predictions == []


def test_the_score_is_calibrated(report: Report) -> None:
    """Of the finds scored 0.5 or more (all that count), at least 70% are insects, and the
    finds scored highest are right more often than those scored lowest."""
    pairs = sorted(
        (prediction.score, matched is not None)
        for image in report.images
        for prediction, matched in zip(image.predictions, image.matchings[0.3].matches, strict=True)
    )
    assert pairs
    assert min(score for score, _ in pairs) >= 0.5
    half = len(pairs) // 2
    low = sum(hit for _, hit in pairs[:half]) / half
    high = sum(hit for _, hit in pairs[half:]) / (len(pairs) - half)
    assert high >= low
    assert sum(hit for _, hit in pairs) / len(pairs) >= 0.7


def test_moths_and_other_insects_are_told_apart() -> None:
    """Of the insects found, at least 85% carry the label drawn for them."""
    assert PHOTOS is not None
    right = total = 0
    for photo in load_truth(TRUTH):
        with Image.open(PHOTOS / photo.file_name) as opened:
            image = opened.convert("RGB")
        insects = [
            b
            for b in detect_blobs(image)
            if b.verdict.label != NOT_AN_INSECT and b.box.score >= 0.5
        ]
        drawn = [box for box in photo.boxes if box.is_object]
        found = [Prediction((b.box.x1, b.box.y1, b.box.x2, b.box.y2), b.box.score) for b in insects]
        matching = match(found, [box.rect for box in drawn], 0.3)
        for blob, number in zip(insects, matching.matches, strict=True):
            if number is not None:
                total += 1
                right += blob.verdict.label == drawn[number].category
    assert total >= 80
    assert right / total >= 0.85


CAMERA_TRAP = PHOTOS.parent / "camera-trap-images" if PHOTOS is not None else None


@pytest.mark.skipif(
    CAMERA_TRAP is None or not CAMERA_TRAP.is_dir(), reason="no shared camera-trap photos"
)
def test_camera_trap_photos_give_no_boxes_and_say_why() -> None:
    assert CAMERA_TRAP is not None
    photos = sorted(CAMERA_TRAP.glob("*.JPG"))
    assert len(photos) == 10
    pipeline = MothBlobsPipeline()
    for path in photos:
        with Image.open(path) as opened:
            image = opened.convert("RGB")
        (result,) = pipeline.process([SourceImage(path.name, image)])
        assert result.detections == [], path.name
        assert result.note is not None
        assert result.note.startswith("not a light-trap photo")
