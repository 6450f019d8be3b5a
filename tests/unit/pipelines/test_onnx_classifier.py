"""The ONNX classifier: crops, normalisation, softmax and top-k, and chaining after a detector."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.support.onnx_models import (
    channel_mean_model,
    constant_model,
    embedding_model,
    moth_and_leaf,
    moth_chain,
)
from trapline.errors import InvalidInput
from trapline.pipelines import Box, SourceImage
from trapline.pipelines.onnx_classifier import OnnxClassifier, crop, softmax
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import ClassifierSpec, PipelineSpec
from trapline.protocol.results import AlgorithmReference

RGB = ["red", "green", "blue"]
CLASSIFIER = AlgorithmReference(name="Test classifier", key="test-classifier")


def classifier(weights: Path, **options: Any) -> OnnxClassifier:
    spec = {"weights": str(weights), "input_size": 8, "labels": RGB, **options}
    return OnnxClassifier(ClassifierSpec.model_validate(spec), CLASSIFIER)


def mean_of_channels(tmp_path: Path, layout: str = "nchw") -> Path:
    shape = ["N", 3, 8, 8] if layout == "nchw" else ["N", 8, 8, 3]
    return channel_mean_model(tmp_path / f"mean-{layout}.onnx", input_shape=shape, layout=layout)


def photo_with_patch(colour: tuple[int, int, int]) -> SourceImage:
    """A 100x80 decode of a 200x160 photo, black but for ``colour`` at (20, 10)-(40, 30)."""
    image = Image.new("RGB", (100, 80), "black")
    ImageDraw.Draw(image).rectangle((20, 10, 39, 29), fill=colour)
    return SourceImage("patch", image, original_size=(200, 160))


def test_the_crop_is_the_box_mapped_into_the_decoded_image(tmp_path: Path) -> None:
    image = photo_with_patch((200, 100, 50))
    box = Box(x1=40, y1=20, x2=80, y2=60, score=1.0)  # original pixels: the patch, exactly
    assert crop(image, box).size == (20, 20)
    options = {"mean": [0, 0, 0], "std": [1, 1, 1], "output": "probabilities", "top_k": None}
    (verdict,) = classifier(mean_of_channels(tmp_path), **options).classify([(image, box)])
    assert verdict.labels == RGB
    assert verdict.scores == pytest.approx([200 / 255, 100 / 255, 50 / 255], abs=1e-6)
    assert verdict.classification == "red"
    assert verdict.logits is None


def test_a_box_half_on_the_patch_sees_half_of_it(tmp_path: Path) -> None:
    image = photo_with_patch((255, 255, 255))
    box = Box(x1=60, y1=20, x2=100, y2=60, score=1.0)  # right half on the patch
    options = {"mean": [0, 0, 0], "std": [1, 1, 1], "output": "probabilities", "top_k": None}
    (verdict,) = classifier(mean_of_channels(tmp_path), **options).classify([(image, box)])
    assert verdict.scores == pytest.approx([0.5, 0.5, 0.5], abs=0.05)


def test_a_degenerate_box_still_gives_a_one_pixel_crop() -> None:
    image = photo_with_patch((255, 0, 0))
    assert crop(image, Box(x1=50, y1=30, x2=50, y2=30, score=1.0)).size == (1, 1)
    assert crop(image, Box(x1=300, y1=300, x2=400, y2=400, score=1.0)).size == (1, 1)


def test_mean_std_channel_order_and_layout_follow_the_spec(tmp_path: Path) -> None:
    image = photo_with_patch((204, 102, 51))  # 0.8, 0.4, 0.2
    box = Box(x1=40, y1=20, x2=80, y2=60, score=1.0)
    options = {
        "mean": [0.1, 0.2, 0.3],
        "std": [0.5, 0.25, 0.1],
        "output": "probabilities",
        "top_k": None,
        "channels": "bgr",
        "layout": "nhwc",
    }
    model = mean_of_channels(tmp_path, "nhwc")
    (verdict,) = classifier(model, **options).classify([(image, box)])
    # In BGR order the model sees 0.2, 0.4, 0.8; then (value - mean) / std.
    expected = [(0.2 - 0.1) / 0.5, (0.4 - 0.2) / 0.25, (0.8 - 0.3) / 0.1]
    assert verdict.scores == pytest.approx(expected, abs=1e-5)


def test_logits_get_a_softmax_and_the_top_k_are_reported(tmp_path: Path) -> None:
    logits = np.array([[1.0, 3.0, 2.0]])
    model = constant_model(tmp_path / "logits.onnx", logits, input_shape=["N", 3, 8, 8])
    image = photo_with_patch((0, 0, 0))
    box = Box(x1=0, y1=0, x2=50, y2=50, score=1.0)
    (verdict,) = classifier(model, top_k=2).classify([(image, box)])
    probabilities = np.exp([1.0, 3.0, 2.0]) / np.exp([1.0, 3.0, 2.0]).sum()
    assert verdict.classification == "green"
    assert verdict.labels == ["green", "blue"]
    assert verdict.scores == pytest.approx([probabilities[1], probabilities[2]])
    assert verdict.logits == pytest.approx([3.0, 2.0])
    assert verdict.terminal is True
    assert verdict.algorithm == CLASSIFIER
    (everything,) = classifier(model, top_k=None).classify([(image, box)])
    assert everything.labels == RGB
    assert everything.scores == pytest.approx(probabilities.tolist())


def test_softmax_is_stable_for_large_logits() -> None:
    scores = softmax(np.array([[1000.0, 1000.0, -1000.0]], dtype=np.float32))
    assert scores.tolist() == [pytest.approx([0.5, 0.5, 0.0])]


def test_crops_run_in_batches_in_order(tmp_path: Path) -> None:
    options = {"mean": [0, 0, 0], "std": [1, 1, 1], "output": "probabilities", "batch_size": 2}
    stage = classifier(mean_of_channels(tmp_path), **options)
    colours = [(255, 0, 0), (0, 255, 0), (0, 0, 255), (255, 0, 0), (0, 0, 255)]
    images = [photo_with_patch(colour) for colour in colours]
    box = Box(x1=40, y1=20, x2=80, y2=60, score=1.0)
    verdicts = stage.classify([(image, box) for image in images])
    assert [verdict.classification for verdict in verdicts] == [
        "red",
        "green",
        "blue",
        "red",
        "blue",
    ]


def test_an_output_that_does_not_match_the_labels_is_explained(tmp_path: Path) -> None:
    model = constant_model(
        tmp_path / "two.onnx", np.array([[1.0, 2.0]]), input_shape=["N", 3, 8, 8]
    )
    box = Box(x1=0, y1=0, x2=50, y2=50, score=1.0)
    with pytest.raises(InvalidInput, match="gives 2 scores per crop but its spec lists 3 labels"):
        classifier(model).classify([(photo_with_patch((0, 0, 0)), box)])


def test_detector_then_filter_then_species_classifier(tmp_path: Path) -> None:
    image = moth_and_leaf()
    spec = PipelineSpec.model_validate(moth_chain(tmp_path))
    pipeline = OnnxPipeline(spec)
    pipeline.load()
    (result,) = pipeline.process([SourceImage("img-1", image)])
    assert result.pipeline == "chain"
    assert [image.id for image in result.source_images] == ["img-1"]
    moth, other = result.detections
    assert (moth.bbox.x1, moth.bbox.y1, moth.bbox.x2, moth.bbox.y2) == (8, 8, 24, 24)
    assert [(c.algorithm.key, c.classification, c.terminal) for c in moth.classifications] == [
        ("chain-detector", "insect", False),
        ("moth-filter", "moth", False),
        ("species", "Agrotis exclamationis", True),
    ]
    assert moth.classifications[0].scores == pytest.approx([0.9])
    assert [(c.algorithm.key, c.classification, c.terminal) for c in other.classifications] == [
        ("chain-detector", "insect", False),
        ("moth-filter", "nonmoth", False),
    ]
    assert {moth.algorithm.key, other.algorithm.key} == {"chain-detector"}
    config = pipeline.config
    assert [algorithm.key for algorithm in config.algorithms] == [
        "chain-detector",
        "moth-filter",
        "species",
    ]
    assert [stage.key for stage in config.stages] == ["chain-detector", "moth-filter", "species"]
    assert config.algorithms[2].category_map is not None
    assert config.algorithms[2].category_map.labels == ["Noctua pronuba", "Agrotis exclamationis"]
    assert [algorithm.task_type for algorithm in config.algorithms] == [
        "detection",
        "classification",
        "classification",
    ]


def test_features_come_from_the_named_output_and_scores_from_the_other(tmp_path: Path) -> None:
    model = embedding_model(tmp_path / "embed.onnx", [0.0, 3.0, 0.0], input_shape=["N", 3, 8, 8])
    box = Box(x1=40, y1=20, x2=80, y2=60, score=1.0)  # the patch, in original pixels
    plain_pixels = {"mean": [0, 0, 0], "std": [1, 1, 1]}
    (verdict,) = classifier(model, features="embedding", **plain_pixels).classify(
        [(photo_with_patch((0, 255, 0)), box)]
    )
    assert verdict.classification == "green"
    assert verdict.features == pytest.approx([0.0, 1.0, 0.0])
    (plain,) = classifier(model, **plain_pixels).classify([(photo_with_patch((0, 255, 0)), box)])
    assert plain.features is None  # without ``features`` nothing is sent


def test_a_features_output_the_model_lacks_is_refused_at_load(tmp_path: Path) -> None:
    model = embedding_model(tmp_path / "embed.onnx", [0.0, 3.0, 0.0], input_shape=["N", 3, 8, 8])
    with pytest.raises(
        InvalidInput, match=r"has no output 'embeddings' \(its outputs: embedding, logits\)"
    ):
        classifier(model, features="embeddings").load()
