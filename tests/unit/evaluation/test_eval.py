"""``trapline eval`` end to end: ground truth files, a real pipeline, the printed report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from trapline.cli import app
from trapline.errors import InvalidInput
from trapline.evaluation.metrics import Prediction
from trapline.evaluation.run import evaluate, score_image
from trapline.evaluation.truth import TruthBox, TruthImage, load_truth
from trapline.pipelines import resolve_pipelines

SIZE = (400, 200)
#: What the ``trapline-constant`` pipeline finds on every photo: the centre quarter.
CENTRE = (100.0, 50.0, 300.0, 150.0)


@pytest.fixture
def photos(tmp_path: Path) -> Path:
    folder = tmp_path / "photos"
    folder.mkdir()
    for name in ("a.jpg", "b.png"):
        Image.new("RGB", SIZE, (200, 190, 180)).save(folder / name)
    return folder


def coco(tmp_path: Path, boxes: dict[str, list[tuple[list[float], int]]]) -> Path:
    document = {
        "images": [
            {"id": n, "file_name": name, "width": SIZE[0], "height": SIZE[1]}
            for n, name in enumerate(boxes)
        ],
        "annotations": [
            {"id": len(boxes) * n + k, "image_id": n, "bbox": bbox, "category_id": category}
            for n, name in enumerate(boxes)
            for k, (bbox, category) in enumerate(boxes[name])
        ],
        "categories": [{"id": 1, "name": "moth"}, {"id": 3, "name": "not an insect"}],
    }
    path = tmp_path / "truth.json"
    path.write_text(json.dumps(document))
    return path


def test_coco_truth_gives_a_perfect_and_a_missed_photo(tmp_path: Path, photos: Path) -> None:
    truth = coco(
        tmp_path,
        {
            "a.jpg": [([100, 50, 200, 100], 1), ([0, 0, 20, 20], 3)],
            "b.png": [([0, 0, 40, 40], 1)],
        },
    )
    (pipeline,) = resolve_pipelines(["trapline-constant"])
    report = evaluate(pipeline, photos, load_truth(truth))
    first, second = report.images
    assert (first.counts(0.5).precision, first.counts(0.5).recall) == (1.0, 1.0)
    assert first.truth.not_objects == [(0.0, 0.0, 20.0, 20.0)]
    assert (second.counts(0.3).precision, second.counts(0.3).recall) == (0.0, 0.0)
    overall = report.overall(0.5)
    assert (overall.true_positives, overall.false_positives, overall.misses) == (1, 1, 1)


def test_megadetector_truth_in_fractions(tmp_path: Path, photos: Path) -> None:
    truth = tmp_path / "md.json"
    truth.write_text(
        json.dumps(
            {
                "detection_categories": {"1": "animal"},
                "images": [
                    {
                        "file": "a.jpg",
                        "detections": [
                            {"category": "1", "conf": 0.9, "bbox": [0.25, 0.25, 0.5, 0.5]}
                        ],
                    },
                    {"file": "b.png", "detections": []},
                ],
            }
        )
    )
    (pipeline,) = resolve_pipelines(["trapline-constant"])
    report = evaluate(pipeline, photos, load_truth(truth))
    assert report.images[0].truth.objects == [CENTRE]
    assert report.overall(0.5).true_positives == 1
    assert report.overall(0.5).false_positives == 1  # the centre box on b.png


def test_the_command_prints_the_tables_and_draws(tmp_path: Path, photos: Path) -> None:
    # On a.jpg the centre box is found and a 10-pixel insect is missed; on b.png the centre
    # box is a false find.
    truth = coco(
        tmp_path, {"a.jpg": [([100, 50, 200, 100], 1), ([10, 10, 10, 10], 1)], "b.png": []}
    )
    drawn = tmp_path / "drawn"
    answer = CliRunner().invoke(
        app,
        [
            "eval",
            "--pipeline",
            "trapline-constant",
            "--images",
            str(photos),
            "--truth",
            str(truth),
            "--draw",
            str(drawn),
        ],
    )
    assert answer.exit_code == 0, answer.output
    lines = answer.output.splitlines()
    assert lines[0].split()[:4] == ["image", "truth", "found", "P@0.3"]
    assert lines[0].split()[-3:] == ["non-objects", "merged", "split"]
    (overall,) = [line.split() for line in lines if line.startswith("overall")]
    assert overall[:6] == ["overall", "2", "2", "0.50", "0.50", "0.50"]
    assert overall[-2:] == ["0", "0"]
    sizes = {line.split(" px")[0]: line.split()[-3:] for line in lines if " px " in line}
    assert sizes == {
        "under 30": ["1", "0.00", "0.00"],
        "30-100": ["0", "-", "-"],
        "over 100": ["1", "1.00", "1.00"],
    }
    assert sorted(p.relative_to(drawn).as_posix() for p in drawn.rglob("*.jpg")) == [
        "a.jpg",
        "b.jpg",
        "false-finds/b-1.jpg",
        "misses/a-1.jpg",
    ]
    with Image.open(drawn / "misses/a-1.jpg") as close_up:  # 48 pixels around, up to the edge
        assert close_up.size == (69, 69)


def test_merged_and_split_boxes_are_counted() -> None:
    two_insects = [(0.0, 0.0, 10.0, 10.0), (12.0, 0.0, 22.0, 10.0)]
    one_box_over_both = [Prediction((0.0, 0.0, 22.0, 10.0))]
    merged = score_image(
        TruthImage("m.jpg", [TruthBox(r, "moth") for r in two_insects]), one_box_over_both
    )
    assert (merged.merged, merged.split) == (1, 0)
    halves = [Prediction((40.0, 0.0, 50.0, 20.0)), Prediction((50.0, 0.0, 60.0, 20.0))]
    split = score_image(TruthImage("s.jpg", [TruthBox((40.0, 0.0, 60.0, 20.0), "moth")]), halves)
    assert (split.merged, split.split) == (0, 1)
    assert split.by_size(0.3) == [(1, 1), (0, 0), (0, 0)]  # a 20-pixel insect, found at 0.3


@pytest.mark.parametrize(
    ("content", "says"),
    [
        ("not json", "is not JSON"),
        ("[1, 2]", "no 'images' list"),
        ('{"images": [{"id": 1}], "annotations": []}', "malformed"),
    ],
)
def test_bad_truth_files_say_what_is_wrong(tmp_path: Path, content: str, says: str) -> None:
    path = tmp_path / "truth.json"
    path.write_text(content)
    with pytest.raises(InvalidInput, match=says):
        load_truth(path)


def test_a_photo_outside_the_folder_or_missing_is_refused(tmp_path: Path, photos: Path) -> None:
    (pipeline,) = resolve_pipelines(["trapline-constant"])
    for name, says in (("../x.jpg", "outside"), ("c.jpg", "not in")):
        truth = coco(tmp_path, {name: []})
        answer = CliRunner().invoke(
            app,
            [
                "eval",
                "--pipeline",
                "trapline-constant",
                "--images",
                str(photos),
                "--truth",
                str(truth),
            ],
        )
        assert answer.exit_code == 1
        assert says in answer.output
        with pytest.raises(InvalidInput, match=says):
            evaluate(pipeline, photos, load_truth(truth))
