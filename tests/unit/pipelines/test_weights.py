"""Weights: local files, downloads into the cache (once, atomically), hashes checked."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from tests.support.onnx_models import constant_model, sha256, write_spec
from tests.support.weights_server import WeightsServer, weights_server
from trapline.errors import InvalidInput, Unavailable
from trapline.pipelines import resolve_pipelines
from trapline.pipelines.weights import file_sha256, weights_file

BODY = b"pretend these are weights" * 1000
BODY_SHA = hashlib.sha256(BODY).hexdigest()


@pytest.fixture
def server() -> Iterator[WeightsServer]:
    with weights_server({"/models/detector.onnx": BODY}) as state:
        yield state


def test_a_url_is_downloaded_once_into_the_cache(server: WeightsServer, tmp_path: Path) -> None:
    url = f"{server.url}/models/detector.onnx"
    first = weights_file(url, BODY_SHA, tmp_path / "cache")
    assert first.read_bytes() == BODY
    assert first.parent == tmp_path / "cache"
    assert first.name.endswith("-detector.onnx")
    again = weights_file(url, BODY_SHA.upper(), tmp_path / "cache")
    assert again == first
    assert server.requests == ["/models/detector.onnx"]
    assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == [first.name]


def test_a_download_with_the_wrong_hash_is_not_kept(server: WeightsServer, tmp_path: Path) -> None:
    url = f"{server.url}/models/detector.onnx"
    with pytest.raises(InvalidInput, match="the file was not kept") as caught:
        weights_file(url, "0" * 64, tmp_path / "cache")
    assert BODY_SHA in caught.value.detail
    assert list((tmp_path / "cache").iterdir()) == []


def test_a_missing_url_is_a_client_error(server: WeightsServer, tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="HTTP 404"):
        weights_file(f"{server.url}/models/nothing.onnx", BODY_SHA, tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_an_unreachable_server_may_be_retried_later(tmp_path: Path) -> None:
    with pytest.raises(Unavailable, match="could not download weights"):
        weights_file("http://127.0.0.1:9/detector.onnx", BODY_SHA, tmp_path)


def test_a_url_needs_a_hash(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match="need a sha256"):
        weights_file("https://example.org/detector.onnx", None, tmp_path)


def test_a_local_file_is_used_in_place_and_its_hash_checked(tmp_path: Path) -> None:
    path = tmp_path / "local.onnx"
    path.write_bytes(BODY)
    assert file_sha256(path) == BODY_SHA
    assert weights_file(str(path), None) == path
    assert weights_file(str(path), BODY_SHA) == path
    with pytest.raises(InvalidInput, match="has SHA-256"):
        weights_file(str(path), "f" * 64)
    with pytest.raises(InvalidInput, match="does not exist"):
        weights_file(str(tmp_path / "missing.onnx"), None)


def test_a_spec_pipeline_downloads_its_weights_on_load(
    server: WeightsServer, tmp_path: Path
) -> None:
    rows = np.array([[[8, 8, 4, 4, 1.0, 1.0]]])
    model = constant_model(tmp_path / "det.onnx", rows, input_shape=["N", 3, 16, 16])
    server.files["/md.onnx"] = model.read_bytes()
    url = f"{server.url}/md.onnx"
    detector = {
        "weights": url,
        "sha256": sha256(model),
        "input_size": 16,
        "layout": "yolov5",
        "labels": ["animal"],
    }
    spec = write_spec(tmp_path / "spec.yaml", [{"slug": "md", "name": "MD", "detector": detector}])
    (pipeline,) = resolve_pipelines(["md"], [spec], cache_dir=tmp_path / "cache")
    (algorithm,) = pipeline.config.algorithms
    assert (algorithm.uri, algorithm.weights_sha256) == (url, sha256(model))
    assert server.requests == []  # building the pipeline fetches nothing
    pipeline.load()
    pipeline.load()
    assert server.requests == ["/md.onnx"]
    assert len(list((tmp_path / "cache").iterdir())) == 1
