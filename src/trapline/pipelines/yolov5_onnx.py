"""A YOLOv5 checkpoint (``.pt``) written out as an ONNX model, without PyTorch.

MegaDetector v5's developers publish ``md_v5a.0.0.pt`` and ``md_v5a.0.1.pt``, PyTorch
checkpoints of a YOLOv5 network; trapline runs detectors with ONNX Runtime (decisions 042, 046
and 047). The checkpoint is read by ``torch_checkpoint``; each YOLOv5 layer (``Conv``, ``C3``,
``Bottleneck``, ``SPPF``, ``SPP``, ``Focus``, ``Concat``, ``Upsample``) becomes ONNX nodes,
batch norms folded into their convolutions; the ``Detect`` layer decodes its boxes as YOLOv5's
own export does, so the model's output is ``(N, rows, 5 + classes)``: centre, size, objectness
and class scores, in input pixels (``layout: yolov5``). The input's height and width are left
open (any multiple of the largest stride), as MegaDetector's runner feeds each photo padded to
its own rectangle; the grid each level decodes against is made from the input's shape.

The weights are read from the checkpoint and written to the file one at a time
(``onnx_writer``), so converting MegaDetector's 281 MB checkpoint peaks well under a gigabyte
(docs/benchmarks.md). ``tests/unit/pipelines/test_yolov5_onnx.py`` checks the result against
PyTorch's own output, saved beside a small checkpoint made with YOLOv5's code
(``tests/data/yolov5``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput
from trapline.pipelines.onnx_writer import GraphWriter
from trapline.pipelines.torch_checkpoint import Record, open_checkpoint


def _pair(value: Any) -> tuple[int, int]:
    if isinstance(value, tuple | list):
        return int(value[0]), int(value[-1])
    return int(value), int(value)


def _conv(graph: GraphWriter, x: str, conv: Record, bn: Record | None) -> str:
    """A convolution, with the batch norm after it folded into its weights (read from the
    checkpoint when the file is written)."""
    found = conv.tensor_ref("weight")
    if found is None or len(found.shape) != 4:
        raise InvalidInput("checkpoint: a convolution has no weights")
    weight_ref = found

    def scale_shift() -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        bias = conv.tensor("bias")
        shift = np.zeros(weight_ref.shape[0]) if bias is None else bias.astype(np.float64)
        if bn is None:
            return np.ones(weight_ref.shape[0]), shift
        gamma, beta = bn.tensor("weight"), bn.tensor("bias")
        mean, var = bn.tensor("running_mean"), bn.tensor("running_var")
        if gamma is None or beta is None or mean is None or var is None:
            raise InvalidInput("checkpoint: a batch norm lacks its statistics")
        scale = gamma / np.sqrt(var.astype(np.float64) + float(bn.__dict__.get("eps", 1e-5)))
        return scale, (shift - mean) * scale + beta

    def weight() -> NDArray[np.float32]:
        folded = weight_ref.array().astype(np.float64)
        folded *= scale_shift()[0][:, None, None, None]
        return folded.astype(np.float32)

    if bn is not None:
        scale_shift()  # a batch norm without its statistics is refused before writing
    kernel, stride = _pair(conv.__dict__.get("kernel_size", 1)), _pair(conv.__dict__["stride"])
    pad, dilation = _pair(conv.__dict__.get("padding", 0)), _pair(conv.__dict__["dilation"])
    return graph.node(
        "Conv",
        [
            x,
            graph.weight("w", weight_ref.shape, np.float32, weight),
            graph.weight(
                "b", weight_ref.shape[:1], np.float32, lambda: scale_shift()[1].astype(np.float32)
            ),
        ],
        kernel_shape=list(kernel),
        strides=list(stride),
        pads=[pad[0], pad[1], pad[0], pad[1]],
        dilations=list(dilation),
        group=int(conv.__dict__.get("groups", 1)),
    )


def _activation(graph: GraphWriter, x: str, act: Record | None) -> str:
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


def _conv_block(graph: GraphWriter, x: str, block: Record) -> str:
    """YOLOv5's ``Conv``: convolution, batch norm, activation."""
    modules = block.__dict__.get("_modules", {})
    x = _conv(graph, x, block.child("conv"), modules.get("bn"))
    return _activation(graph, x, modules.get("act"))


def _bottleneck(graph: GraphWriter, x: str, block: Record) -> str:
    y = _conv_block(graph, _conv_block(graph, x, block.child("cv1")), block.child("cv2"))
    return graph.node("Add", [x, y]) if block.__dict__.get("add") else y


def _max_pool(graph: GraphWriter, x: str, pool: Record) -> str:
    kernel = _pair(pool.__dict__["kernel_size"])
    stride = _pair(pool.__dict__.get("stride") or kernel)
    pad = _pair(pool.__dict__.get("padding", 0))
    return graph.node(
        "MaxPool", [x], kernel_shape=list(kernel), strides=list(stride),
        pads=[pad[0], pad[1], pad[0], pad[1]],
    )  # fmt: skip


def _layer(graph: GraphWriter, inputs: list[str], layer: Record) -> str:
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


def _detect(graph: GraphWriter, inputs: list[str], detect: Record) -> str:
    """YOLOv5's ``Detect``: each level's rows decoded to centre and size in input pixels,
    objectness and class scores, all levels in one ``(N, rows, 5 + classes)`` output. A
    level's grid is as large as its input: ``(height / stride) x (width / stride)`` cells."""
    na, no = int(detect.__dict__["na"]), int(detect.__dict__["no"])
    anchors, strides = detect.tensor("anchors"), detect.tensor("stride")
    if anchors is None or strides is None:
        raise InvalidInput("checkpoint: the detect layer has no anchors or strides")
    levels = []
    for level, (x, conv) in enumerate(zip(inputs, detect.child("m").children(), strict=True)):
        stride = float(strides[level])
        raw = _conv(graph, x, conv, None)  # (N, na * no, ny, nx)
        shape = graph.node("Shape", [raw])
        shaped = graph.node(
            "Reshape",
            [
                raw,
                graph.node(
                    "Concat",
                    [
                        _part(graph, shape, 0, 1),
                        graph.constant("na_no", np.array([na, no], np.int64)),
                        _part(graph, shape, 2, 4),
                    ],
                    axis=0,
                ),
            ],
        )  # (N, na, no, ny, nx)
        rows = graph.node("Sigmoid", [graph.node("Transpose", [shaped], perm=[0, 1, 3, 4, 2])])
        scale = np.ones(no, np.float32)
        scale[:4] = [2 * stride, 2 * stride, 0, 0]
        square = np.zeros((1, na, 1, 1, no), np.float32)
        square[0, :, 0, 0, 2:4] = 4 * anchors[level] * stride
        linear = graph.node("Add", [graph.node("Mul", [rows, graph.constant("scale", scale)]),
                                    _grid(graph, shape, stride, no)])  # fmt: skip
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


def _part(graph: GraphWriter, shape: str, start: int, end: int) -> str:
    """Entries ``start`` to ``end`` of a ``Shape`` output."""
    return graph.node(
        "Slice",
        [
            shape,
            graph.constant("start", np.array([start], np.int64)),
            graph.constant("end", np.array([end], np.int64)),
        ],
    )


def _grid(graph: GraphWriter, shape: str, stride: float, no: int) -> str:
    """``(ny, nx, no)``: each cell's top-left corner less half a cell, ``(column - 0.5) *
    stride`` and ``(row - 0.5) * stride``, in the first two of its ``no`` numbers."""

    def positions(axis: int, step: NDArray[np.float32], shaped: list[int]) -> str:
        count = graph.node("Gather", [shape, graph.constant("axis", np.array(axis, np.int64))])
        indices = graph.node(
            "Range",
            [
                graph.constant("zero", np.array(0, np.int64)),
                count,
                graph.constant("one", np.array(1, np.int64)),
            ],
        )
        column = graph.node(
            "Reshape",
            [
                graph.node("Cast", [indices], to=1),  # float
                graph.constant("shape", np.array(shaped, np.int64)),
            ],
        )
        return graph.node("Mul", [column, graph.constant("step", step)])

    across, down = np.zeros(no, np.float32), np.zeros(no, np.float32)
    across[0], down[1] = stride, stride
    half = np.zeros(no, np.float32)
    half[:2] = -0.5 * stride
    grid = graph.node("Add", [positions(3, across, [1, -1, 1]), positions(2, down, [-1, 1, 1])])
    return graph.node("Add", [grid, graph.constant("half", half)])


def _model(checkpoint: Any) -> Record:
    model = (
        checkpoint.get("ema") or checkpoint.get("model")
        if isinstance(checkpoint, dict)
        else checkpoint
    )
    if not isinstance(model, Record) or "_modules" not in model.__dict__:
        raise InvalidInput("checkpoint holds no YOLOv5 model")
    return model


def convert(checkpoint: Path, target: Path) -> Path:
    """Write the ONNX model of the YOLOv5 checkpoint at ``checkpoint`` to ``target``: input
    ``images`` ``(N, 3, height, width)``, RGB scaled to 0-1, height and width any multiple of
    the largest stride; output ``(N, rows, 5 + classes)``.

    Raises:
        InvalidInput: the file is not a YOLOv5 checkpoint trapline reads, or uses a layer
            trapline does not write.
    """
    from onnx import TensorProto, helper

    with open_checkpoint(checkpoint) as loaded:
        layers = _model(loaded).child("model").children()
        graph = GraphWriter()
        outputs: list[str] = []
        previous = "images"
        for layer in layers:
            source = layer.__dict__.get("f", -1)
            sources = [source] if isinstance(source, int) else list(source)
            inputs = [previous if s == -1 else outputs[s] for s in sources]
            if layer.kind.endswith(".Detect"):
                previous = _detect(graph, inputs, layer)
            else:
                previous = _layer(graph, inputs, layer)
            outputs.append(previous)
        no = int(layers[-1].__dict__["no"])
        image: list[str | int | None] = ["N", 3, "height", "width"]
        return graph.write(
            target,
            [helper.make_tensor_value_info("images", TensorProto.FLOAT, image)],
            [helper.make_tensor_value_info(previous, TensorProto.FLOAT, ["N", "rows", no])],
        )
