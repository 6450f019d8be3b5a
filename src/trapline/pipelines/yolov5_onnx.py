"""A YOLOv5 checkpoint (``.pt``) written out as an ONNX model, without PyTorch.

MegaDetector v5's developers publish ``md_v5a.0.0.pt``, a PyTorch checkpoint of a YOLOv5
network; trapline runs detectors with ONNX Runtime (decisions 042 and 046). The checkpoint is
read by ``torch_checkpoint``; each YOLOv5 layer (``Conv``, ``C3``, ``Bottleneck``, ``SPPF``,
``SPP``, ``Focus``, ``Concat``, ``Upsample``) becomes ONNX nodes, batch norms folded into their
convolutions; the ``Detect`` layer decodes its boxes as YOLOv5's own export does, so the
model's output is ``(N, rows, 5 + classes)``: centre, size, objectness and class scores, in
input pixels (``layout: yolov5``).

``tests/unit/pipelines/test_yolov5_onnx.py`` checks the result against PyTorch's own output,
saved beside a small checkpoint made with YOLOv5's code (``tests/data/yolov5``).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput
from trapline.pipelines.torch_checkpoint import Record, read_checkpoint

#: ONNX opset the model is written for (ONNX Runtime 1.17 reads up to 20).
OPSET = 17


class _Graph:
    """ONNX nodes and weights being written, with unique names."""

    def __init__(self) -> None:
        self.nodes: list[Any] = []
        self.weights: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, hint: str, value: NDArray[Any]) -> str:
        from onnx import numpy_helper

        name = self.name(hint)
        self.weights.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        from onnx import helper

        output = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _conv(graph: _Graph, x: str, conv: Record, bn: Record | None) -> str:
    """A convolution, with the batch norm after it folded into its weights."""
    found = conv.tensor("weight")
    if found is None:
        raise InvalidInput("checkpoint: a convolution has no weights")
    weight = found.astype(np.float64)
    bias = conv.tensor("bias")
    shift = np.zeros(weight.shape[0]) if bias is None else bias.astype(np.float64)
    if bn is not None:
        gamma, beta = bn.tensor("weight"), bn.tensor("bias")
        mean, var = bn.tensor("running_mean"), bn.tensor("running_var")
        if gamma is None or beta is None or mean is None or var is None:
            raise InvalidInput("checkpoint: a batch norm lacks its statistics")
        scale = gamma / np.sqrt(var.astype(np.float64) + float(bn.__dict__.get("eps", 1e-5)))
        weight = weight * scale[:, None, None, None]
        shift = (shift - mean) * scale + beta
    kernel, stride = _pair(conv.__dict__.get("kernel_size", 1)), _pair(conv.__dict__["stride"])
    pad, dilation = _pair(conv.__dict__.get("padding", 0)), _pair(conv.__dict__["dilation"])
    return graph.node(
        "Conv",
        [
            x,
            graph.constant("w", weight.astype(np.float32)),
            graph.constant("b", shift.astype(np.float32)),
        ],
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=[pad[0], pad[1], pad[0], pad[1]],
        dilations=list(dilation),
        group=int(conv.__dict__.get("groups", 1)),
    )


def _activation(graph: _Graph, x: str, act: Record | None) -> str:
    kind = "" if act is None else act.kind.rsplit(".", 1)[-1]
    if kind in ("", "Identity"):
        return x
    if kind == "SiLU":
        return graph.node("Mul", [x, graph.node("Sigmoid", [x])])
    if kind == "LeakyReLU":
        slope = float(act.__dict__.get("negative_slope", 0.01)) if act else 0.01
        return graph.node("LeakyRelu", [x], alpha=slope)
    if kind == "ReLU":
        return graph.node("Relu", [x])
    if kind == "Hardswish":
        return graph.node("HardSwish", [x])
    raise InvalidInput(f"checkpoint: activation {kind} is not supported")


def _conv_block(graph: _Graph, x: str, block: Record) -> str:
    """YOLOv5's ``Conv``: convolution, batch norm, activation."""
    modules = block.__dict__.get("_modules", {})
    x = _conv(graph, x, block.child("conv"), modules.get("bn"))
    return _activation(graph, x, modules.get("act"))


def _bottleneck(graph: _Graph, x: str, block: Record) -> str:
    y = _conv_block(graph, _conv_block(graph, x, block.child("cv1")), block.child("cv2"))
    return graph.node("Add", [x, y]) if block.__dict__.get("add") else y


def _max_pool(graph: _Graph, x: str, pool: Record) -> str:
    kernel = _pair(pool.__dict__["kernel_size"])
    stride = _pair(pool.__dict__.get("stride") or kernel)
    pad = _pair(pool.__dict__.get("padding", 0))
    return graph.node(
        "MaxPool", [x], kernel_shape=list(kernel), strides=list(stride),
        pads=[pad[0], pad[1], pad[0], pad[1]],
    )  # fmt: skip


def _layer(graph: _Graph, inputs: list[str], layer: Record) -> str:
    kind = layer.kind.rsplit(".", 1)[-1]
    x = inputs[0]
    if kind == "Conv":
        return _conv_block(graph, x, layer)
    if kind in ("C3", "C3x"):
        inner = _conv_block(graph, x, layer.child("cv1"))
        for bottleneck in layer.child("m").children():
            inner = _bottleneck(graph, inner, bottleneck)
        side = _conv_block(graph, x, layer.child("cv2"))
        return _conv_block(graph, graph.node("Concat", [inner, side], axis=1), layer.child("cv3"))
    if kind == "Bottleneck":
        return _bottleneck(graph, x, layer)
    if kind == "SPPF":
        first = _conv_block(graph, x, layer.child("cv1"))
        pooled = [first]
        for _ in range(3):
            pooled.append(_max_pool(graph, pooled[-1], layer.child("m")))
        return _conv_block(graph, graph.node("Concat", pooled, axis=1), layer.child("cv2"))
    if kind == "SPP":
        first = _conv_block(graph, x, layer.child("cv1"))
        pooled = [first] + [_max_pool(graph, first, m) for m in layer.child("m").children()]
        return _conv_block(graph, graph.node("Concat", pooled, axis=1), layer.child("cv2"))
    if kind == "Focus":
        quarters = [
            graph.node(
                "Slice",
                [
                    x,
                    graph.constant("s", np.array(start, np.int64)),
                    graph.constant("e", np.array([1 << 30, 1 << 30], np.int64)),
                    graph.constant("a", np.array([2, 3], np.int64)),
                    graph.constant("t", np.array([2, 2], np.int64)),
                ],
            )
            for start in ([0, 0], [1, 0], [0, 1], [1, 1])
        ]
        return _conv_block(graph, graph.node("Concat", quarters, axis=1), layer.child("conv"))
    if kind == "Concat":
        return graph.node("Concat", inputs, axis=int(layer.__dict__.get("d", 1)))
    if kind == "Upsample":
        if layer.__dict__.get("mode", "nearest") != "nearest":
            raise InvalidInput("checkpoint: only nearest upsampling is supported")
        factor = _pair(layer.__dict__.get("scale_factor") or 2)
        scales = np.array([1.0, 1.0, factor[0], factor[1]], np.float32)
        return graph.node(
            "Resize", [x, "", graph.constant("scales", scales)], mode="nearest",
            coordinate_transformation_mode="asymmetric", nearest_mode="floor",
        )  # fmt: skip
    raise InvalidInput(f"checkpoint: layer {kind} is not supported")


def _detect(graph: _Graph, inputs: list[str], detect: Record, size: tuple[int, int]) -> str:
    """YOLOv5's ``Detect``: each level's rows decoded to centre and size in input pixels,
    objectness and class scores, all levels in one ``(N, rows, 5 + classes)`` output."""
    na, no = int(detect.__dict__["na"]), int(detect.__dict__["no"])
    anchors, strides = detect.tensor("anchors"), detect.tensor("stride")
    if anchors is None or strides is None:
        raise InvalidInput("checkpoint: the detect layer has no anchors or strides")
    levels = []
    for level, (x, conv) in enumerate(zip(inputs, detect.child("m").children(), strict=True)):
        stride = float(strides[level])
        ny, nx = round(size[0] / stride), round(size[1] / stride)
        raw = _conv(graph, x, conv, None)
        shaped = graph.node(
            "Reshape", [raw, graph.constant("shape", np.array([-1, na, no, ny, nx], np.int64))]
        )
        rows = graph.node("Sigmoid", [graph.node("Transpose", [shaped], perm=[0, 1, 3, 4, 2])])
        scale = np.ones(no, np.float32)
        scale[:4] = [2 * stride, 2 * stride, 0, 0]
        offset = np.zeros((1, 1, ny, nx, no), np.float32)
        offset[..., 0] = (np.arange(nx)[None, :] - 0.5) * stride
        offset[..., 1] = (np.arange(ny)[:, None] - 0.5) * stride
        square = np.zeros((1, na, 1, 1, no), np.float32)
        square[0, :, 0, 0, 2:4] = 4 * anchors[level] * stride
        linear = graph.node("Add", [graph.node("Mul", [rows, graph.constant("scale", scale)]),
                                    graph.constant("grid", offset)])  # fmt: skip
        sizes = graph.node(
            "Mul", [graph.node("Mul", [rows, rows]), graph.constant("anchors", square)]
        )
        decoded = graph.node("Add", [linear, sizes])
        levels.append(
            graph.node(
                "Reshape", [decoded, graph.constant("rows", np.array([0, -1, no], np.int64))]
            )
        )
    return graph.node("Concat", levels, axis=1)


def to_onnx(checkpoint: Any, input_size: int | tuple[int, int]) -> Any:
    """The ONNX model (``onnx.ModelProto``) of a YOLOv5 checkpoint read by ``read_checkpoint``,
    for photos letterboxed to ``input_size`` (a multiple of the largest stride)."""
    from onnx import TensorProto, checker, helper

    model = (
        checkpoint.get("ema") or checkpoint.get("model")
        if isinstance(checkpoint, dict)
        else checkpoint
    )
    if not isinstance(model, Record) or "_modules" not in model.__dict__:
        raise InvalidInput("checkpoint holds no YOLOv5 model")
    size = _pair(input_size)
    layers = model.child("model").children()
    graph = _Graph()
    outputs: list[str] = []
    previous = "images"
    for layer in layers:
        source = layer.__dict__.get("f", -1)
        sources = [source] if isinstance(source, int) else list(source)
        inputs = [previous if s == -1 else outputs[s] for s in sources]
        if layer.kind.endswith(".Detect"):
            previous = _detect(graph, inputs, layer, size)
        else:
            previous = _layer(graph, inputs, layer)
        outputs.append(previous)
    no = int(layers[-1].__dict__["no"])
    made = helper.make_model(
        helper.make_graph(
            graph.nodes,
            "yolov5",
            [
                helper.make_tensor_value_info(
                    "images", TensorProto.FLOAT, ["N", 3, size[0], size[1]]
                )
            ],
            [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", "rows", no])],
            graph.weights,
        ),
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="trapline",
    )
    made.ir_version = 8
    checker.check_model(made)
    return made


def convert(checkpoint: Path, target: Path, input_size: int | tuple[int, int]) -> Path:
    """Write the ONNX model of the YOLOv5 checkpoint at ``checkpoint`` to ``target``, through
    a temporary file renamed into place (two workers converting at once both end well)."""
    made = to_onnx(read_checkpoint(checkpoint), input_size)
    handle, partial = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(made.SerializeToString())
        os.replace(partial, target)
    finally:
        Path(partial).unlink(missing_ok=True)
    return target
