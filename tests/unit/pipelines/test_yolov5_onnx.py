"""A YOLOv5 checkpoint read without PyTorch and written as ONNX: the same output as PyTorch's
own forward pass (``tests/data/yolov5``, made by YOLOv5's code: see make_checkpoint.py there),
and a checkpoint that names anything else refused before it runs."""

from __future__ import annotations

import io
import pickle
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from trapline.errors import InvalidInput
from trapline.pipelines.torch_checkpoint import read_checkpoint
from trapline.pipelines.yolov5_onnx import convert

DATA = Path(__file__).resolve().parents[2] / "data" / "yolov5"
#: The input PyTorch's output was computed on (make_checkpoint.py makes the same).
SIZE = 128


def test_the_onnx_model_gives_pytorchs_output(tmp_path: Path) -> None:
    onnx_file = convert(DATA / "tiny-p6.pt", tmp_path / "tiny.onnx", SIZE)
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    image = np.random.default_rng(1).random((2, 3, SIZE, SIZE), np.float32)
    (output,) = session.run(None, {"images": image})
    expected = np.load(DATA / "tiny-p6-expected.npz")["output"]
    # Four levels (strides 8 to 64) of three anchors: (16² + 8² + 4² + 2²) x 3 rows of
    # centre, size, objectness and three class scores.
    assert output.shape == expected.shape == (2, 1020, 8)
    np.testing.assert_allclose(output, expected, rtol=1e-4, atol=1e-4)
    # Not a coincidence of saturated scores: another photo gives other boxes and scores, by
    # far more than the tolerance.
    (other,) = session.run(None, {"images": np.zeros_like(image)})
    assert np.abs(other[..., :4] - expected[..., :4]).max() > 0.1
    assert np.abs(other[..., 4:] - expected[..., 4:]).max() > 1e-3
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.onnx"]


def test_the_checkpoint_reads_as_records_and_arrays() -> None:
    checkpoint = read_checkpoint(DATA / "tiny-p6.pt")
    layers = checkpoint["model"].child("model").children()
    assert layers[0].kind == "models.common.Conv"
    assert layers[-1].kind == "models.yolo.Detect"
    anchors = layers[-1].tensor("anchors")
    assert anchors is not None
    assert anchors.shape == (4, 3, 2)


class _Runs:
    """Pickled as a call of ``os.system``: what a hostile checkpoint would hide."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[object, tuple[str]]:
        import os

        return os.system, (f"touch {self.marker}",)


def _archive(path: Path, payload: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("hostile/data.pkl", payload)
        archive.writestr("hostile/version", "3\n")
    return path


def test_a_checkpoint_that_names_other_code_is_refused_before_it_runs(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    hostile = _archive(tmp_path / "hostile.pt", pickle.dumps({"model": _Runs(marker)}, 2))
    with pytest.raises(InvalidInput, match=r"names (posix|os)\.system, which trapline does not"):
        read_checkpoint(hostile)
    assert not marker.exists()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b"not a zip", "not a readable PyTorch checkpoint"),
        (None, "no data.pkl"),
        (b"zip with a cut pickle", "not a readable PyTorch checkpoint"),
    ],
    ids=["not-a-zip", "no-pickle", "cut-pickle"],
)
def test_files_that_are_no_checkpoint_say_so(
    tmp_path: Path, body: bytes | None, problem: str
) -> None:
    path = tmp_path / "file.pt"
    if body is None:
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("other/file.txt", "hello")
    elif body.startswith(b"zip"):
        _archive(path, pickle.dumps({"model": 1}, 2)[:-3])
    else:
        path.write_bytes(body)
    with pytest.raises(InvalidInput, match=problem):
        read_checkpoint(path)


def test_a_checkpoint_without_a_model_is_refused(tmp_path: Path) -> None:
    path = _archive(tmp_path / "empty.pt", pickle.dumps({"epoch": 3}, 2))
    with pytest.raises(InvalidInput, match="holds no YOLOv5 model"):
        convert(path, tmp_path / "empty.onnx", SIZE)
    assert not (tmp_path / "empty.onnx").exists()


@pytest.mark.parametrize(
    ("size", "stride", "problem"),
    [((3, 3), (3, 1), "reaches past its storage"), ((2,), (-1,), "negative size, stride")],
    ids=["past-the-end", "backwards"],
)
def test_a_tensor_outside_its_storage_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    size: tuple[int, ...],
    stride: tuple[int, ...],
    problem: str,
) -> None:
    class Storage:
        def __reduce__(self) -> tuple[object, tuple[object, ...]]:
            raise NotImplementedError

    buffer = io.BytesIO()

    class Writer(pickle.Pickler):
        def persistent_id(self, obj: object) -> object:
            if isinstance(obj, Storage):
                return ("storage", "FloatStorage", "0", "cpu", 4)
            return None

    class Tensor:
        def __reduce__(self) -> tuple[object, tuple[object, ...]]:
            rebuild = _named(monkeypatch, "torch._utils", "_rebuild_tensor_v2")
            return rebuild, (Storage(), 0, size, stride, False, None)

    Writer(buffer, protocol=2).dump({"model": Tensor()})
    path = tmp_path / "long.pt"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("long/data.pkl", buffer.getvalue())
        archive.writestr("long/data/0", np.zeros(4, np.float32).tobytes())
    with pytest.raises(InvalidInput, match=problem):
        read_checkpoint(path)


def _named(monkeypatch: pytest.MonkeyPatch, module: str, name: str) -> object:
    """A function pickled by the name ``module.name`` (PyTorch's, which is not installed),
    there for this test only."""

    def stand_in(*args: object) -> None:
        raise AssertionError("never called")

    stand_in.__module__, stand_in.__qualname__, stand_in.__name__ = module, name, name
    home = types.ModuleType(module)
    setattr(home, name, stand_in)
    parent = module.split(".")[0]
    if parent != module and parent not in sys.modules:
        monkeypatch.setitem(sys.modules, parent, types.ModuleType(parent))
    monkeypatch.setitem(sys.modules, module, home)
    return stand_in
