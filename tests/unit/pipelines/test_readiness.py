"""One answer to "can this pipeline run here?" for the worker and the web app: MegaDetector
needs the ``[onnx]`` extra (refused at start, before any download, in one line), then its
weights (left out unless named; named, it downloads them), is ready with an ONNX file or a
checkpoint to convert; a download or conversion under way shows as such."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import pytest

from tests.support.onnx_models import write_spec
from tests.support.weights_server import weights_server
from trapline.errors import InvalidInput, MissingDependency
from trapline.pipelines import resolve_pipelines
from trapline.pipelines.megadetector import MegaDetectorPipeline, Release, readiness
from trapline.pipelines.readiness import State
from trapline.pipelines.registry import builtin_readiness

CHECKPOINT = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"
EXTRA_LINE = (
    "pipeline 'megadetector' needs ONNX support (onnxruntime not installed): "
    "pip install 'trapline[onnx]'"
)


def test_without_weights_it_needs_them_and_says_where_from_and_where_to(tmp_path: Path) -> None:
    state = readiness(tmp_path)
    assert state.state is State.NEEDS_WEIGHTS
    assert not state.ready
    assert state.folder == tmp_path
    assert [f.name for f in state.files] == ["md_v5a.0.1.pt", "md_v5a.0.0.pt"]
    assert "md5sum md_v5a.0.1.pt` (it must print 60f8e7ec1308554df258ed1f4040bc4f)" in state.how
    assert [(b.slug, b.state) for b in builtin_readiness(tmp_path)] == [
        ("trapline-constant", State.READY),
        ("trapline-random", State.READY),
        ("moth-blobs", State.READY),
        ("megadetector", State.NEEDS_WEIGHTS),
    ]


def test_a_download_or_conversion_under_way_shows_until_it_is_left_over(tmp_path: Path) -> None:
    download = tmp_path / ".md_v5a.0.1.pt.0a1b2c3d.part"
    download.write_bytes(b"")
    assert readiness(tmp_path).state is State.DOWNLOADING
    long_ago = time.time() - 3600
    os.utime(download, (long_ago, long_ago))
    assert readiness(tmp_path).state is State.NEEDS_WEIGHTS
    (tmp_path / "md_v5a.0.1.pt").write_bytes(CHECKPOINT.read_bytes())
    assert readiness(tmp_path).state is State.READY
    (tmp_path / ".md_v5a.onnx.0a1b2c3d.part").write_bytes(b"")
    assert readiness(tmp_path).state is State.CONVERTING


def test_without_onnx_runtime_it_is_refused_before_anything_downloads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)
    state = readiness(tmp_path)
    assert (state.state, state.how) == (State.NEEDS_EXTRA, EXTRA_LINE)
    assert "megadetector" not in {p.slug for p in resolve_pipelines([], cache_dir=tmp_path)}
    with pytest.raises(InvalidInput) as refused:
        resolve_pipelines(["megadetector"], cache_dir=tmp_path)
    assert refused.value.detail == EXTRA_LINE
    with weights_server({"/md_v5a.0.0.pt": CHECKPOINT.read_bytes()}) as server:
        release = Release(f"{server.url}/md_v5a.0.0.pt", "0" * 32)
        with pytest.raises(MissingDependency, match=r"pip install 'trapline\[onnx\]'"):
            MegaDetectorPipeline(tmp_path, releases=(release,)).load()
        assert server.requests == []
    assert list(tmp_path.iterdir()) == []


def test_converting_needs_onnx_but_a_converted_file_does_not(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.support.megadetector_model import stand_in

    monkeypatch.setitem(sys.modules, "onnx", None)
    assert readiness(tmp_path).state is State.NEEDS_EXTRA
    assert "(onnx not installed)" in readiness(tmp_path).how
    stand_in(tmp_path)
    assert readiness(tmp_path).state is State.READY


def test_a_spec_pipeline_without_onnx_runtime_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "d.onnx").write_bytes(b"weights")
    detector = {"weights": "d.onnx", "input_size": 64, "layout": "yolov5", "labels": ["a"]}
    spec = write_spec(tmp_path / "s.yaml", [{"slug": "cams", "name": "Cams", "detector": detector}])
    monkeypatch.setitem(sys.modules, "cv2", None)
    with pytest.raises(InvalidInput, match=r"^pipeline 'cams' needs ONNX support \(cv2 not"):
        resolve_pipelines([], [spec])
