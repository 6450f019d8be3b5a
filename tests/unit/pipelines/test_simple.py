"""The ``trapline-constant`` and ``trapline-random`` pipelines: what they say, and that they
say it again."""

from __future__ import annotations

import pytest
from PIL import Image

from trapline.pipelines import SourceImage
from trapline.pipelines.simple import ConstantPipeline, RandomPipeline
from trapline.protocol.results import PipelineResultsResponse


def images(*ids: str) -> list[SourceImage]:
    # A 400x300 photo decoded at half size: boxes must come out in original pixels.
    return [SourceImage(i, Image.new("RGB", (200, 150)), original_size=(400, 300)) for i in ids]


def summary(result: PipelineResultsResponse) -> list[tuple[object, ...]]:
    return [
        (
            (found.bbox.x1, found.bbox.y1, found.bbox.x2, found.bbox.y2) if found.bbox else None,
            found.classifications[0].classification,
            tuple(found.classifications[0].scores),
        )
        for found in result.detections
    ]


def test_constant_finds_the_centre_quarter_as_a_moth() -> None:
    pipeline = ConstantPipeline()
    first, second = pipeline.process(images("a", "b"))
    assert summary(first) == [((100.0, 75.0, 300.0, 225.0), "moth", (0.9, 0.1))]
    assert summary(second) == summary(first)
    (found,) = first.detections
    assert (first.pipeline, first.source_images[0].id, found.source_image_id) == (
        "trapline-constant",
        "a",
        "a",
    )
    (verdict,) = found.classifications
    assert verdict.labels == ["moth", "nonmoth"]
    assert verdict.terminal is True
    keys = [algorithm.key for algorithm in pipeline.config.algorithms]
    assert (found.algorithm.key, verdict.algorithm.key) == tuple(keys)


def test_random_is_repeatable_per_image_and_differs_between_images() -> None:
    pipeline = RandomPipeline(max_boxes=6)
    ids = [f"image-{number}" for number in range(30)]
    first = [summary(result) for result in pipeline.process(images(*ids))]
    again = [summary(result) for result in RandomPipeline(max_boxes=6).process(images(*ids))]
    assert first == again
    assert len({str(result) for result in first}) == len(ids)
    assert {len(result) for result in first} <= set(range(7))
    assert len({len(result) for result in first}) > 2
    category_map = pipeline.config.algorithms[1].category_map
    assert category_map is not None
    labels = set(category_map.labels)
    for result in first:
        for (x1, y1, x2, y2), label, scores in result:
            assert 0 <= x1 < x2 <= 400
            assert 0 <= y1 < y2 <= 300
            assert label in labels
            assert sum(scores) == pytest.approx(1.0)
            assert list(scores) == sorted(scores, reverse=True)
