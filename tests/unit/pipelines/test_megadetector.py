"""The built-in ``megadetector`` pipeline: served unasked only with its weights in place; asked
for, it downloads the released checkpoint once (kept only with the release's MD5) and converts
it to ONNX, or says what to do where it cannot; MegaDetector's layout decoded into animal,
person and vehicle boxes in the photo's pixels (a stand-in model of the same layout, through the
real loading). The released file is stood in for by a small YOLOv5 checkpoint served on
loopback: tests never download."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from PIL import Image

from tests.support.megadetector_model import expected_boxes, stand_in
from tests.support.weights_server import weights_server
from trapline.errors import InvalidInput
from trapline.pipelines import SourceImage, resolve_pipelines
from trapline.pipelines.megadetector import THRESHOLD, V5A, MegaDetectorPipeline, Release
from trapline.pipelines.weights import file_digest

#: A YOLOv5 P6 checkpoint of MegaDetector's layout, small (tests/data/yolov5).
CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"
#: A release nobody serves: the connection is refused at once.
UNREACHABLE = Release("http://127.0.0.1:1/v5.0/md_v5a.0.0.pt", file_digest(CHECKPOINT, "md5"))


def test_without_its_weights_it_is_not_served_and_where_it_cannot_download_says_what_to_do(
    tmp_path: Path,
) -> None:
    served = {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    assert "megadetector" not in served
    assert "moth-blobs" in served
    (named,) = resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    assert named.slug == "megadetector"
    assert V5A.url.startswith("https://github.com/agentmorris/MegaDetector/releases/")
    with pytest.raises(InvalidInput) as refused:
        MegaDetectorPipeline(tmp_path, release=UNREACHABLE).load()
    message = str(refused.value)
    assert UNREACHABLE.url in message
    assert f"md5sum md_v5a.0.0.pt` (it must print {UNREACHABLE.md5})" in message
    assert str(tmp_path / "md_v5a.0.0.pt") in message
    assert str(tmp_path / "md_v5a.0.0.onnx") in message
    assert "TRAPLINE_WEIGHTS_CACHE_DIR" in message
    assert list(tmp_path.iterdir()) == []


def test_the_released_checkpoint_is_downloaded_once_checked_and_converted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with weights_server({"/v5.0/md_v5a.0.0.pt": CHECKPOINT.read_bytes()}) as server:
        release = Release(f"{server.url}/v5.0/md_v5a.0.0.pt", UNREACHABLE.md5)
        pipeline = MegaDetectorPipeline(tmp_path, release=release)
        with caplog.at_level(logging.INFO, logger="trapline.pipelines.megadetector"):
            pipeline.load()
            pipeline.load()  # a worker's runner loads again: the model is opened and hashed once
        assert sum("MegaDetector weights" in r.getMessage() for r in caplog.records) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["md_v5a.0.0.onnx", "md_v5a.0.0.pt"]
        (result,) = pipeline.process([SourceImage("frame", Image.new("RGB", (2048, 1440), "grey"))])
        assert all(0 <= d.bbox.x1 <= d.bbox.x2 <= 2048 for d in result.detections if d.bbox)
        again = MegaDetectorPipeline(tmp_path, release=release)
        again.load()
        assert server.requests == ["/v5.0/md_v5a.0.0.pt"]
    assert "megadetector" in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}


def test_a_download_that_is_not_the_released_file_is_not_kept(tmp_path: Path) -> None:
    with weights_server({"/v5.0/md_v5a.0.0.pt": b"something else"}) as server:
        release = Release(f"{server.url}/v5.0/md_v5a.0.0.pt", UNREACHABLE.md5)
        with pytest.raises(InvalidInput, match=r"have MD5 .* the file was not kept"):
            MegaDetectorPipeline(tmp_path, release=release).load()
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_put_in_place_by_hand_is_checked_then_converted(tmp_path: Path) -> None:
    (tmp_path / "md_v5a.0.0.pt").write_bytes(b"not the release")
    with pytest.raises(InvalidInput, match=r"has MD5 .* it is not that file; delete it"):
        MegaDetectorPipeline(tmp_path, release=UNREACHABLE).load()
    assert not (tmp_path / "md_v5a.0.0.onnx").exists()
    (tmp_path / "md_v5a.0.0.pt").write_bytes(CHECKPOINT.read_bytes())
    assert "megadetector" in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    MegaDetectorPipeline(tmp_path, release=UNREACHABLE).load()
    assert (tmp_path / "md_v5a.0.0.onnx").is_file()


def test_its_boxes_are_megadetectors_categories_in_the_photos_pixels(tmp_path: Path) -> None:
    stand_in(tmp_path)
    assert "megadetector" in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    (pipeline,) = resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    assert isinstance(pipeline, MegaDetectorPipeline)
    config = pipeline.config
    assert config.default_threshold == THRESHOLD == 0.2
    (algorithm,) = config.algorithms
    assert algorithm.category_map is not None
    assert algorithm.category_map.labels == ["animal", "person", "vehicle"]
    pipeline.load()
    # A camera trap's 2048 x 1440 frame: letterboxed into 1280 x 1280, boxes mapped back.
    (result,) = pipeline.process([SourceImage("frame", Image.new("RGB", (2048, 1440), "grey"))])
    found = [
        (
            d.classifications[0].classification,
            d.classifications[0].scores[0],
            (d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2),
        )
        for d in result.detections
        if d.bbox is not None
    ]
    expected = expected_boxes(2048, 1440)
    assert [label for label, _, _ in found] == [label for label, _, _ in expected]
    assert [label for label, _, _ in found] == ["animal", "person", "vehicle"]
    for (_, score, box), (_, want_score, want_box) in zip(found, expected, strict=True):
        assert score == pytest.approx(want_score, abs=1e-4)
        assert box == pytest.approx(want_box, abs=0.5)


def test_a_model_of_another_layout_is_refused_with_the_shape_it_gives(tmp_path: Path) -> None:
    import numpy as np

    from tests.support.onnx_models import constant_model

    constant_model(
        tmp_path / "md_v5a.0.0.onnx", np.zeros((1, 3, 7)), input_shape=["N", 3, 1280, 1280]
    )
    (pipeline,) = resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    pipeline.load()
    with pytest.raises(InvalidInput, match=r"must output \(N, boxes, 8\)"):
        pipeline.process([SourceImage("frame", Image.new("RGB", (640, 480), "grey"))])
