"""An ONNX model written to a file one weight at a time, for ``yolov5_onnx``.

Building an ``onnx.ModelProto`` with every weight in it and serialising it holds the weights
two or three times over (about 3 GB for MegaDetector's 561 MB of float32 weights). Here the
graph's nodes are built first with each weight's name and shape only; the file is then
written as protobuf does: the model's small fields, the graph's length and its nodes, then
each weight (an ``initializer``) made, written and dropped in turn. A repeated field may come
anywhere in its message, so the file is the same model ``onnx.load`` reads back.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from numpy.typing import NDArray

from trapline.pipelines.weights import temporary_beside

#: ONNX opset the model is written for (ONNX Runtime 1.17 reads up to 20).
OPSET = 17
#: Protobuf keys (field number << 3 | wire type 2) of the fields written by hand.
_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = b"\x3a", b"\x2a", b"\x4a"


@dataclass(frozen=True)
class Weight:
    """A named initializer: its shape and type now, its numbers when the file is written."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype[Any]
    make: Callable[[], NDArray[Any]]

    @property
    def nbytes(self) -> int:
        """Bytes of its numbers."""
        return math.prod(self.shape) * self.dtype.itemsize


class GraphWriter:
    """ONNX nodes and weights being built, with unique names; ``write`` puts them in a file."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.weights: list[Weight] = []
        self.count = 0

    def name(self, hint: str) -> str:
        """A name no other node or weight has."""
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, value: NDArray[Any]) -> str:
        """A small weight known now."""
        value = np.ascontiguousarray(value)
        return self.weight(hint, value.shape, value.dtype, lambda: value)

    def weight(
        self,
        hint: str,
        shape: Sequence[int],
        dtype: type[Any] | np.dtype[Any],
        make: Callable[[], NDArray[Any]],
    ) -> str:
        """A weight of ``shape`` and ``dtype`` whose numbers ``make`` gives when written."""
        name = self.name(hint)
        self.weights.append(Weight(name, tuple(int(n) for n in shape), np.dtype(dtype), make))
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        """A node of ``op``; its one output's name."""
        from onnx import helper

        output = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def write(self, target: Path, inputs: list[Any], outputs: list[Any]) -> Path:
        """The model written to ``target`` through a temporary file renamed into place (two
        workers writing at once both end well), after ``onnx.checker`` checked its graph."""
        from onnx import helper

        graph = helper.make_graph(self.nodes, "yolov5", inputs, outputs)
        _check(graph, self.weights)
        model = helper.make_model(
            graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="trapline"
        )
        model.ir_version = 8
        model.ClearField("graph")
        handle, partial = temporary_beside(target)
        try:
            with os.fdopen(handle, "wb") as stream:
                _write_model(stream, model.SerializeToString(), graph, self.weights)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
        return target


def _check(graph: Any, weights: list[Weight]) -> None:
    """``onnx.checker`` over the graph with its weights as typed inputs (not their numbers)."""
    from onnx import checker, helper

    declared = helper.make_graph(
        graph.node,
        graph.name,
        [
            *graph.input,
            *(
                helper.make_tensor_value_info(
                    w.name, helper.np_dtype_to_tensor_dtype(w.dtype), list(w.shape)
                )
                for w in weights
            ),
        ],
        graph.output,
    )
    checked = helper.make_model(declared, opset_imports=[helper.make_opsetid("", OPSET)])
    checked.ir_version = 8
    checker.check_model(checked, full_check=True)


def _write_model(stream: BinaryIO, model: bytes, graph: Any, weights: list[Weight]) -> None:
    from onnx import TensorProto, helper

    headers = [
        TensorProto(
            name=w.name, dims=w.shape, data_type=helper.np_dtype_to_tensor_dtype(w.dtype)
        ).SerializeToString()
        for w in weights
    ]
    tensors = [
        len(header) + len(_TENSOR_RAW_DATA) + len(_varint(w.nbytes)) + w.nbytes
        for header, w in zip(headers, weights, strict=True)
    ]
    nodes = graph.SerializeToString()
    length = len(nodes) + sum(len(_GRAPH_INITIALIZER) + len(_varint(n)) + n for n in tensors)
    stream.write(model + _MODEL_GRAPH + _varint(length) + nodes)
    for weight, header, size in zip(weights, headers, tensors, strict=True):
        value = np.ascontiguousarray(weight.make(), dtype=weight.dtype.newbyteorder("<"))
        if value.shape != weight.shape:
            raise ValueError(f"weight {weight.name} is {value.shape}, not {weight.shape}")
        stream.write(_GRAPH_INITIALIZER + _varint(size) + header)
        stream.write(_TENSOR_RAW_DATA + _varint(weight.nbytes))
        stream.write(value.reshape(-1).data)


def _varint(number: int) -> bytes:
    """``number`` as a protobuf varint: seven bits a byte, low bits first."""
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)
