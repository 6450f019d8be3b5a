"""Tiny ONNX models with known outputs, built with onnx.helper, and spec files around them."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import yaml
from onnx import TensorProto, helper, numpy_helper
from PIL import Image, ImageDraw

OPSET = 17
IR_VERSION = 8

Shape = Sequence[int | str]


def constant_model(path: Path, output: np.ndarray, *, input_shape: Shape) -> Path:
    """A model that ignores its image and gives ``output`` (first axis 1) for every image.

    The first output axis follows the batch: ``output`` is expanded to the input's batch size.
    """
    nodes = [
        helper.make_node("Shape", ["images"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "rest"], ["target"], axis=0),
        helper.make_node("Expand", ["value", "target"], ["output"]),
    ]
    value = np.asarray(output, dtype=np.float32)
    constants = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        numpy_helper.from_array(np.array(value.shape[1:], dtype=np.int64), "rest"),
        numpy_helper.from_array(value, "value"),
    ]
    out_shape: list[Any] = ["N", *value.shape[1:]]
    return _save(path, nodes, constants, input_shape, out_shape)


def channel_mean_model(path: Path, *, input_shape: Shape, layout: str = "nchw") -> Path:
    """A "classifier" whose output is the mean of each channel of its input: ``(N, 3)``."""
    axes = [2, 3] if layout == "nchw" else [1, 2]
    nodes = [helper.make_node("ReduceMean", ["images"], ["output"], axes=axes, keepdims=0)]
    return _save(path, nodes, [], input_shape, ["N", 3])


def embedding_model(path: Path, logits: Sequence[float], *, input_shape: Shape) -> Path:
    """A classifier with two outputs: ``embedding``, each channel's mean of its input
    (``(N, 3)``, so crops of other colours get other vectors), then ``logits``, the same
    ``logits`` for every crop."""
    value = np.asarray([logits], dtype=np.float32)
    nodes = [
        helper.make_node("ReduceMean", ["images"], ["embedding"], axes=[2, 3], keepdims=0),
        helper.make_node("Shape", ["images"], ["shape"]),
        helper.make_node("Slice", ["shape", "zero", "one"], ["batch"]),
        helper.make_node("Concat", ["batch", "rest"], ["target"], axis=0),
        helper.make_node("Expand", ["value", "target"], ["logits"]),
    ]
    constants = [
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([1], dtype=np.int64), "one"),
        numpy_helper.from_array(np.array([len(logits)], dtype=np.int64), "rest"),
        numpy_helper.from_array(value, "value"),
    ]
    graph = helper.make_graph(
        nodes,
        "test-model",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [
            helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["N", 3]),
            helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", len(logits)]),
        ],
        initializer=constants,
    )
    return _write(graph, path)


def moth_and_leaf() -> Image.Image:
    """A 64x64 photo, the detector's input size (boxes need no mapping): a red "moth" at
    (8, 8)-(23, 23) and a blue patch that is not one at (40, 40)-(55, 55)."""
    image = Image.new("RGB", (64, 64), "white")
    ImageDraw.Draw(image).rectangle((8, 8, 23, 23), fill=(230, 20, 20))
    ImageDraw.Draw(image).rectangle((40, 40, 55, 55), fill=(20, 20, 230))
    return image


def moth_chain(folder: Path, slug: str = "chain") -> dict[str, Any]:
    """The spec of the documented moth pipeline's three stages, as tiny models in ``folder``:
    a detector that finds both patches of ``moth_and_leaf`` as ``insect`` (0.9 and 0.8), a
    moth filter (``keep: [moth]``) that calls the red one ``moth`` and the blue one
    ``nonmoth``, and a species classifier that names what it is given *Agrotis
    exclamationis*."""
    rows = [[16, 16, 16, 16, 0.9, 1.0], [48, 48, 16, 16, 0.8, 1.0]]  # cx, cy, w, h, obj, insect
    detector = constant_model(folder / "det.onnx", np.array([rows]), input_shape=["N", 3, 64, 64])
    species = constant_model(
        folder / "species.onnx", np.array([[0.0, 2.0]]), input_shape=["N", 3, 8, 8]
    )
    mean = channel_mean_model(folder / "mean.onnx", input_shape=["N", 3, 8, 8])
    return {
        "slug": slug,
        "name": "Chain",
        "detector": {
            "weights": str(detector), "input_size": 64, "layout": "yolov5", "labels": ["insect"],
        },
        "classifiers": [
            {
                "key": "moth-filter", "weights": str(mean), "input_size": 8,
                "labels": ["moth", "grass", "nonmoth"], "mean": [0, 0, 0], "std": [1, 1, 1],
                "output": "probabilities", "keep": ["moth"],
            },
            {
                "key": "species", "weights": str(species), "input_size": 8,
                "labels": ["Noctua pronuba", "Agrotis exclamationis"], "top_k": 1,
            },
        ],
    }  # fmt: skip


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_spec(path: Path, pipelines: list[dict[str, Any]]) -> Path:
    path.write_text(yaml.safe_dump({"pipelines": pipelines}, sort_keys=False))
    return path


def _save(
    path: Path,
    nodes: list[onnx.NodeProto],
    constants: list[onnx.TensorProto],
    input_shape: Shape,
    output_shape: Shape,
) -> Path:
    graph = helper.make_graph(
        nodes,
        "test-model",
        [helper.make_tensor_value_info("images", TensorProto.FLOAT, list(input_shape))],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, list(output_shape))],
        initializer=constants,
    )
    return _write(graph, path)


def _write(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
