"""A YOLOv5 checkpoint read without PyTorch and written as ONNX: the same output as PyTorch's
own forward pass (``tests/data/yolov5``, made by YOLOv5's code: see make_checkpoint.py there),
and a checkpoint that names anything else refused before it runs."""

from __future__ import annotations

import io
import pickle
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import pytest

from trapline.errors import InvalidInput
from trapline.pipelines.torch_checkpoint import Record, read_checkpoint
from trapline.pipelines.yolov5_onnx import convert

DATA = Path(__file__).resolve().parents[2] / "data" / "yolov5"
#: The input PyTorch's output was computed on (make_checkpoint.py makes the same).
SIZE = 128


def test_the_onnx_model_gives_pytorchs_output(tmp_path: Path) -> None:
    onnx_file = convert(DATA / "tiny-p6.pt", tmp_path / "tiny.onnx")
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
        convert(path, tmp_path / "empty.onnx")
    assert not (tmp_path / "empty.onnx").exists()


@pytest.mark.parametrize(
    ("size", "stride", "problem"),
    [
        ((3, 3), (3, 1), "reaches past its storage"),
        ((2,), (-1,), "negative size, stride"),
        # A stride of 0 repeats one number: 10^12 of them would be 4 TB once read.
        (
            (1_000_000, 1_000_000),
            (0, 0),
            r"long\.pt: a tensor of shape \(1000000, 1000000\) has 1,000,000,000,000 numbers, "
            r"more than its storage's 4: not read",
        ),
    ],
    ids=["past-the-end", "backwards", "zero-stride"],
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


def test_the_input_takes_any_height_and_width_and_each_levels_grid_follows_it(
    tmp_path: Path,
) -> None:
    onnx_file = convert(DATA / "tiny-p6.pt", tmp_path / "tiny.onnx")
    session = onnxruntime.InferenceSession(str(onnx_file), providers=["CPUExecutionProvider"])
    assert session.get_inputs()[0].shape == ["N", 3, "height", "width"]
    # Each row's centre is (2 * sigmoid - 0.5 + its cell's column or row) * stride: within
    # -0.5 to 1.5 strides of its cell's corner, only if rows and cells line up (ny != nx here).
    height, width = 192, 320
    image = np.random.default_rng(2).random((1, 3, height, width), np.float32)
    (output,) = session.run(None, {"images": image})
    start = 0
    for stride in (8, 16, 32, 64):
        ny, nx = height // stride, width // stride
        level = output[0, start : start + 3 * ny * nx].reshape(3, ny, nx, 8)
        start += 3 * ny * nx
        cx = level[..., 0] / stride - np.arange(nx)[None, None, :]
        cy = level[..., 1] / stride - np.arange(ny)[None, :, None]
        assert ((cx >= -0.5) & (cx <= 1.5) & (cy >= -0.5) & (cy <= 1.5)).all(), stride
    assert output.shape == (1, start, 8) == (1, 3 * (24 * 40 + 12 * 20 + 6 * 10 + 3 * 5), 8)


def test_numpy_scalars_of_an_unstripped_checkpoint_are_read_and_nothing_else_numpy(
    tmp_path: Path,
) -> None:
    # YOLOv5's training checkpoints keep their best score as a numpy float: protocol 2 pickles
    # it as numpy's scalar() of a dtype and bytes spelt _codecs.encode(text, "latin1").
    scored = _archive(
        tmp_path / "scored.pt", pickle.dumps({"best_fitness": np.float64(0.625), "epoch": 3}, 2)
    )
    assert read_checkpoint(scored) == {"best_fitness": 0.625, "epoch": 3}
    array = _archive(tmp_path / "array.pt", pickle.dumps({"results": np.zeros(3)}, 2))
    with pytest.raises(InvalidInput, match=r"names numpy\._?core\.multiarray\._reconstruct"):
        read_checkpoint(array)
    objects = _archive(tmp_path / "objects.pt", pickle.dumps({"x": np.dtype("O")}, 2))
    with pytest.raises(InvalidInput, match="numpy dtype 'O8', not a number's"):
        read_checkpoint(objects)


def test_the_stand_in_writer_makes_the_checkpoint_yolov5s_code_makes(tmp_path: Path) -> None:
    from tests.support.yolov5_checkpoint import write

    made = write(tmp_path / "made.pt", depth=0.33, width=0.0625)

    def tensors(path: Path) -> list[tuple[str, str, tuple[int, ...]]]:
        found = []

        def walk(record: Record, where: str) -> None:
            for place in ("_parameters", "_buffers"):
                for name, value in record.__dict__.get(place, {}).items():
                    if value is not None:
                        found.append((f"{where}.{name}", record.kind, value.shape))
            for name, child in record.__dict__.get("_modules", {}).items():
                walk(child, f"{where}.{name}")

        walk(read_checkpoint(path)["model"], "")
        return found

    # Every parameter and buffer of tiny-p6.pt (made by YOLOv5 7.0 and PyTorch): same place,
    # same module class, same shape.
    assert tensors(made) == tensors(DATA / "tiny-p6.pt")
    session = onnxruntime.InferenceSession(
        str(convert(made, tmp_path / "made.onnx")), providers=["CPUExecutionProvider"]
    )
    (output,) = session.run(None, {"images": np.zeros((1, 3, 128, 128), np.float32)})
    assert output.shape == (1, 1020, 8)


@pytest.mark.slow
def test_converting_holds_a_layer_at_a_time_not_the_model(tmp_path: Path) -> None:
    from tests.support.yolov5_checkpoint import write

    # Half MegaDetector's width: a 70 MB checkpoint, a 140 MB ONNX file.
    checkpoint = write(tmp_path / "half.pt", depth=1.33, width=0.625)
    child = (
        "import sys; from pathlib import Path; import onnx, numpy;"
        "from trapline.pipelines.yolov5_onnx import convert;"
        "status = lambda f: [int(l.split()[1]) for l in open('/proc/self/status')"
        " if l.startswith(f + ':')][0];"
        "before = status('VmRSS'); convert(Path(sys.argv[1]), Path(sys.argv[2]));"
        "print(status('VmHWM') - before)"
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(checkpoint), str(tmp_path / "half.onnx")],
        capture_output=True, text=True, check=True, timeout=300,
    )  # fmt: skip
    rise_mb = int(done.stdout.strip()) / 1000
    onnx_mb = (tmp_path / "half.onnx").stat().st_size / 1e6
    assert onnx_mb > 130
    # Building the whole model in memory rose by about five times the ONNX file's size.
    assert rise_mb < onnx_mb / 2, (rise_mb, onnx_mb)
