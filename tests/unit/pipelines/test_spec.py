"""Spec files: the format, relative paths, label files, and errors that name file and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.support.onnx_models import write_spec
from trapline.errors import InvalidInput
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import IMAGENET_MEAN, load_spec_file

SHA = "ab" * 32


@pytest.fixture(autouse=True)
def weights_files(tmp_path: Path) -> None:
    """The local weights the specs below name (their content does not matter here)."""
    for name in ("models/detector.onnx", "c.onnx", "elsewhere/species.onnx"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"weights")


def detector(**changes: Any) -> dict[str, Any]:
    stage = {
        "type": "onnx-detector",
        "weights": "models/detector.onnx",
        "input_size": 640,
        "layout": "yolov8",
        "labels": ["animal", "person", "vehicle"],
    }
    return {**stage, **changes}


def pipeline(**changes: Any) -> dict[str, Any]:
    return {"slug": "camera", "name": "Camera traps", "detector": detector(), **changes}


def problem(tmp_path: Path, document: Any) -> str:
    path = tmp_path / "spec.yaml"
    path.write_text(document if isinstance(document, str) else json.dumps(document))
    with pytest.raises(InvalidInput) as caught:
        load_spec_file(path)
    assert caught.value.detail.startswith(f"pipeline file {path}: ")
    return caught.value.detail.removeprefix(f"pipeline file {path}: ")


def test_a_full_spec_with_defaults_and_relative_paths(tmp_path: Path) -> None:
    (tmp_path / "species.txt").write_text("Noctua pronuba\n\nAgrotis exclamationis\n")
    classifiers = [
        {
            "type": "onnx-classifier",
            "name": "Moth or not",
            "weights": "https://example.org/binary.onnx",
            "sha256": SHA,
            "input_size": [128, 96],
            "labels": ["moth", "nonmoth"],
            "keep": ["moth"],
        },
        {
            "weights": str(tmp_path / "elsewhere/species.onnx"),
            "input_size": 128,
            "labels_file": "species.txt",
        },
    ]
    path = write_spec(
        tmp_path / "spec.yaml", [pipeline(version=3, classifiers=classifiers, description="d")]
    )
    (spec,) = load_spec_file(path)
    assert spec.detector.weights == str(tmp_path / "models/detector.onnx")
    assert spec.detector.input_size == (640, 640)
    assert (spec.detector.confidence, spec.detector.iou) == (0.25, 0.45)
    binary, species = spec.classifiers
    assert binary.input_size == (128, 96)
    assert binary.weights == "https://example.org/binary.onnx"
    assert binary.is_terminal is False
    assert binary.mean == IMAGENET_MEAN
    assert species.weights == str(tmp_path / "elsewhere/species.onnx")
    assert species.labels == ["Noctua pronuba", "Agrotis exclamationis"]
    assert species.is_terminal is True
    assert species.top_k == 5
    config = OnnxPipeline(spec).config
    assert (config.slug, config.name, config.version, config.description) == (
        "camera",
        "Camera traps",
        3,
        "d",
    )
    assert [(a.name, a.key) for a in config.algorithms] == [
        ("Camera traps detector", "camera-detector"),
        ("Moth or not", "camera-classifier-1"),
        ("Camera traps classifier 2", "camera-classifier-2"),
    ]
    assert config.algorithms[1].weights_sha256 == SHA
    assert config.algorithms[0].uri == str(tmp_path / "models/detector.onnx")


@pytest.mark.parametrize(
    ("name", "content", "labels"),
    [
        ("labels.json", ["a", "b"], ["a", "b"]),
        ("labels.json", {"b": 1, "a": 0}, ["a", "b"]),
        ("labels.txt", "a\nb\n", ["a", "b"]),
    ],
)
def test_label_files(tmp_path: Path, name: str, content: Any, labels: list[str]) -> None:
    text = content if isinstance(content, str) else json.dumps(content)
    (tmp_path / name).write_text(text)
    stage = detector(labels_file=name)
    del stage["labels"]
    path = write_spec(tmp_path / "spec.yaml", [pipeline(detector=stage)])
    assert load_spec_file(path)[0].detector.labels == labels


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"pipelines": [pipeline(detector=detector(layout=None))]}, "pipelines[0].detector.layout"),
        ({"pipelines": [pipeline(detector=detector(input_size="big"))]}, "(got 'big')"),
        ({"pipelines": [pipeline(detector=detector(input_size=0))]}, "from 1 to 8192 pixels"),
        ({"pipelines": [pipeline(detector=detector(confidnce=0.3))]}, "confidnce: Extra inputs"),
        ({"pipelines": [pipeline(detector=detector(confidence=2))]}, "less than or equal to 1"),
        ({"pipelines": [pipeline(detector=detector(layout="yolov9"))]}, "'yolov5' or 'yolov8'"),
        (
            {"pipelines": [pipeline(detector=detector(weights="https://x.org/m.onnx"))]},
            "pipelines[0].detector: sha256 is required when weights is a URL",
        ),
        ({"pipelines": [pipeline(detector=detector(sha256="abc"))]}, "detector.sha256: String"),
        ({"pipelines": [pipeline(detector=detector(labels=[]))]}, "at least one label"),
        ({"pipelines": [pipeline(detector=detector(labels=["a", "a"]))]}, "must not repeat"),
        (
            {"pipelines": [pipeline(detector=detector(keep=["moth"]))]},
            "keep names labels the stage does not have: moth",
        ),
        (
            {"pipelines": [pipeline(detector=detector(labels_file="nowhere.txt"))]},
            "give labels or labels_file, not both",
        ),
        (
            {"pipelines": [pipeline(classifiers=[{"weights": "c.onnx", "input_size": 9}])]},
            "pipelines[0].classifiers[0]: labels (or labels_file) must list at least one label",
        ),
        (
            {"pipelines": [pipeline(classifiers=[{"input_size": 9, "labels": ["a"]}])]},
            "pipelines[0].classifiers[0].weights: Field required",
        ),
        ({"pipelines": [pipeline(slug="Has Spaces")]}, "pipelines[0].slug: String should match"),
        ({"pipelines": [pipeline(), pipeline()]}, "pipeline slugs must differ (repeated: camera)"),
        (
            {"pipelines": [pipeline(classifiers=[{"key": "camera-detector"}])]},
            "pipelines[0].classifiers[0].weights",
        ),
        ({"pipelines": []}, "pipelines: List should have at least 1 item"),
        ({"pipeline": [pipeline()]}, "pipelines: Field required"),
        ([pipeline()], "Input should be a valid dictionary"),
        ("pipelines: [unclosed", "not valid YAML"),
    ],
)
def test_mistakes_name_the_file_and_the_field(tmp_path: Path, document: Any, message: str) -> None:
    assert message in problem(tmp_path, document)


def test_a_missing_weights_file_is_named(tmp_path: Path) -> None:
    detail = problem(tmp_path, {"pipelines": [pipeline(detector=detector(weights="gone.onnx"))]})
    assert detail == f"pipelines[0].detector.weights: no weights file at {tmp_path / 'gone.onnx'}"


def test_stage_keys_must_differ(tmp_path: Path) -> None:
    classifier = {"key": "camera-detector", "weights": "c.onnx", "input_size": 9, "labels": ["a"]}
    detail = problem(tmp_path, {"pipelines": [pipeline(classifiers=[classifier])]})
    assert detail == "pipelines[0]: stage keys must differ from each other"


def test_a_missing_labels_file_is_named(tmp_path: Path) -> None:
    stage = detector(labels_file="nowhere.txt")
    del stage["labels"]
    detail = problem(tmp_path, {"pipelines": [pipeline(detector=stage)]})
    assert f"labels file {tmp_path / 'nowhere.txt'} cannot be read" in detail


def test_a_labels_object_needs_indices_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "labels.json").write_text(json.dumps({"a": 0, "b": 2}))
    stage = detector(labels_file="labels.json")
    del stage["labels"]
    detail = problem(tmp_path, {"pipelines": [pipeline(detector=stage)]})
    assert "the indices must be 0, 1, 2" in detail


def test_a_missing_spec_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"pipeline file .*missing.yaml: cannot be read"):
        load_spec_file(tmp_path / "missing.yaml")
