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
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
