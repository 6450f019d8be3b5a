"""The built-in ``megadetector`` pipeline: served only with its weights in place, a clear error
when asked for without them, and MegaDetector's layout decoded into animal, person and vehicle
boxes in the photo's pixels (a stand-in model of the same layout, through the real loading)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from tests.support.megadetector_model import expected_boxes, stand_in
from trapline.errors import InvalidInput
from trapline.pipelines import SourceImage, resolve_pipelines
from trapline.pipelines.megadetector import THRESHOLD, MegaDetectorPipeline


def test_without_its_weights_it_is_not_served_and_asking_for_it_says_what_to_do(
    tmp_path: Path,
) -> None:
    served = {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    assert "megadetector" not in served
    assert "moth-blobs" in served
    with pytest.raises(InvalidInput) as refused:
        resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    message = str(refused.value)
    assert str(tmp_path / "md_v5a.0.0.onnx") in message
    assert "sha256sum" in message
    assert "TRAPLINE_WEIGHTS_CACHE_DIR" in message


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
