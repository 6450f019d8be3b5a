"""The built-in ``megadetector`` pipeline: served unasked only with its weights in place; asked
for, it downloads the released checkpoint once (kept only with the release's MD5) and converts
it to ONNX, or says what to do where it cannot; a checkpoint of another MD5 put in place by hand
is converted after a warning; MegaDetector's layout decoded into animal, person and vehicle
boxes in the photo's pixels (a stand-in model of the same layout, through the real loading).
The released file is stood in for by a small YOLOv5 checkpoint served on loopback: tests never
download."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest
from PIL import Image

from tests.support.megadetector_model import expected_boxes, stand_in
from tests.support.weights_server import weights_server
from trapline.errors import InvalidInput
from trapline.pipelines import SourceImage, resolve_pipelines
from trapline.pipelines.megadetector import (
    RELEASES,
    THRESHOLD,
    V5A_0_0,
    V5A_0_1,
    MegaDetectorPipeline,
    Release,
)
from trapline.pipelines.weights import file_digest

#: A YOLOv5 P6 checkpoint of MegaDetector's layout, small (tests/data/yolov5).
CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"
#: A release nobody serves: the connection is refused at once.
UNREACHABLE = Release("http://127.0.0.1:1/v5.0/md_v5a.0.0.pt", file_digest(CHECKPOINT, "md5"))
RELEASE = (UNREACHABLE,)


def _umask() -> int:
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def test_both_releases_are_known_by_name_and_md5() -> None:
    # megadetector/detection/run_detector.py, known_models: v5a.0.1 first (its default).
    assert RELEASES == (V5A_0_1, V5A_0_0)
    assert (V5A_0_0.file_name, V5A_0_0.md5) == ("md_v5a.0.0.pt", "ec1d7603ec8cf642d6e0cd008ba2be8c")
    assert (V5A_0_1.file_name, V5A_0_1.md5) == ("md_v5a.0.1.pt", "60f8e7ec1308554df258ed1f4040bc4f")
    base = "https://github.com/agentmorris/MegaDetector/releases/download/v5.0/"
    assert [r.url for r in RELEASES] == [base + "md_v5a.0.1.pt", base + "md_v5a.0.0.pt"]


def test_without_its_weights_it_is_not_served_and_where_it_cannot_download_says_what_to_do(
    tmp_path: Path,
) -> None:
    served = {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    assert "megadetector" not in served
    assert "moth-blobs" in served
    (named,) = resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    assert named.slug == "megadetector"
    with pytest.raises(InvalidInput) as refused:
        MegaDetectorPipeline(tmp_path, releases=RELEASE).load()
    message = str(refused.value)
    assert message.startswith("could not download MegaDetector (")
    assert UNREACHABLE.url in message
    assert f"md5sum md_v5a.0.0.pt` (it must print {UNREACHABLE.md5})" in message
    assert f"copy it to {tmp_path}:" in message
    assert str(tmp_path / "md_v5a.onnx") in message
    assert "TRAPLINE_WEIGHTS_CACHE_DIR" in message
    assert list(tmp_path.iterdir()) == []


def test_the_released_checkpoint_is_downloaded_once_checked_and_converted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with weights_server({"/v5.0/md_v5a.0.0.pt": CHECKPOINT.read_bytes()}) as server:
        release = Release(f"{server.url}/v5.0/md_v5a.0.0.pt", UNREACHABLE.md5)
        pipeline = MegaDetectorPipeline(tmp_path, releases=(release,))
        with caplog.at_level(logging.INFO, logger="trapline.pipelines.megadetector"):
            pipeline.load()
            pipeline.load()  # a worker's runner loads again: the model is opened and hashed once
        assert sum("MegaDetector weights" in r.getMessage() for r in caplog.records) == 1
        assert sorted(p.name for p in tmp_path.iterdir()) == ["md_v5a.0.0.pt", "md_v5a.onnx"]
        # As the umask has it (0644 under the usual 022), not 0600 as temporary files are.
        assert {p.stat().st_mode & 0o777 for p in tmp_path.iterdir()} == {0o666 & ~_umask()}
        (result,) = pipeline.process([SourceImage("frame", Image.new("RGB", (2048, 1440), "grey"))])
        assert all(0 <= d.bbox.x1 <= d.bbox.x2 <= 2048 for d in result.detections if d.bbox)
        again = MegaDetectorPipeline(tmp_path, releases=(release,))
        again.load()
        assert server.requests == ["/v5.0/md_v5a.0.0.pt"]
    assert "megadetector" in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}


def test_a_download_that_is_not_the_released_file_is_not_kept(tmp_path: Path) -> None:
    with weights_server({"/v5.0/md_v5a.0.0.pt": b"something else"}) as server:
        release = Release(f"{server.url}/v5.0/md_v5a.0.0.pt", UNREACHABLE.md5)
        with pytest.raises(InvalidInput, match=r"have MD5 .* the file was not kept"):
            MegaDetectorPipeline(tmp_path, releases=(release,)).load()
    assert list(tmp_path.iterdir()) == []


def test_a_checkpoint_of_another_md5_put_in_place_is_converted_after_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "md_v5a.0.0.pt").write_bytes(CHECKPOINT.read_bytes())
    released = (Release(UNREACHABLE.url, "0" * 32),)  # a fine-tuned MegaDetector, say
    assert "megadetector" in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    with caplog.at_level(logging.WARNING, logger="trapline.pipelines.megadetector"):
        MegaDetectorPipeline(tmp_path, releases=released).load()
    (warning,) = caplog.records
    assert warning.getMessage().startswith(
        f"{tmp_path / 'md_v5a.0.0.pt'} has MD5 {UNREACHABLE.md5}, which is no MegaDetector v5a "
        f"release's (md_v5a.0.0.pt {'0' * 32}): converting it as a YOLOv5 detector of your own"
    )
    assert (tmp_path / "md_v5a.onnx").is_file()


def test_a_file_put_in_place_that_is_no_checkpoint_is_refused(tmp_path: Path) -> None:
    (tmp_path / "md_v5a.0.1.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InvalidInput, match=r"md_v5a\.0\.1\.pt is not a readable PyTorch"):
        MegaDetectorPipeline(tmp_path).load()
    assert [p.name for p in tmp_path.iterdir()] == ["md_v5a.0.1.pt"]


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
    # A camera trap's 2048 x 1440 frame: letterboxed into 1280 x 960, boxes mapped back.
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
        assert box == want_box


def test_a_model_of_another_layout_is_refused_with_the_shape_it_gives(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import numpy as np

    from tests.support.onnx_models import constant_model

    constant_model(tmp_path / "md_v5a.onnx", np.zeros((1, 3, 7)), input_shape=["N", 3, 1280, 1280])
    (pipeline,) = resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="trapline.pipelines.megadetector"):
        pipeline.load()
    # An export of a fixed size runs at that size, and says how it differs from MegaDetector.
    assert "md_v5a.onnx takes only 1280x1280 photos" in caplog.text
    with pytest.raises(InvalidInput, match=r"must output \(N, boxes, 8\)"):
        pipeline.process([SourceImage("frame", Image.new("RGB", (640, 480), "grey"))])
