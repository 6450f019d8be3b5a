"""YOLOv5 P6 checkpoints of any size made without PyTorch: MegaDetector v5's layout
(YOLOv5x6, 1280 channels deep, 281 MB) with random weights, for measuring the conversion.

The file is what ``torch.save`` writes for a YOLOv5 ``DetectionModel`` in half precision (a
zip of ``data.pkl`` and one file per tensor storage): module objects pickled by their class
names (``models.common.Conv``, ``torch.nn.modules.conv.Conv2d``...), tensors as
``torch._utils._rebuild_tensor_v2`` calls on storages, parameters wrapped by
``_rebuild_parameter``, as ``tests/data/yolov5/tiny-p6.pt`` (made by YOLOv5's own code) shows.
The network is built the way YOLOv5's ``parse_model`` builds ``models/hub/yolov5x6.yaml``
(depth and width multiples, ``make_divisible`` by 8), so ``depth=0.33, width=0.0625`` gives
the tensors of ``tiny-p6.pt`` and the defaults give MegaDetector v5a's.

    python -m tests.support.yolov5_checkpoint OUT.pt [--depth 1.33 --width 1.25]
"""

from __future__ import annotations

import argparse
import io
import math
import pickle
import zipfile
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

#: YOLOv5x6's anchors in pixels per level (strides 8 to 64), as its yaml gives them.
ANCHORS = [
    [19, 27, 44, 40, 38, 94],
    [96, 68, 86, 152, 180, 137],
    [140, 301, 303, 264, 238, 542],
    [436, 615, 739, 380, 925, 792],
]
STRIDES = [8.0, 16.0, 32.0, 64.0]
#: yolov5x6.yaml: [from, number, module, args] for the backbone, then the head.
LAYERS: list[tuple[Any, int, str, list[Any]]] = [
    (-1, 1, "Conv", [64, 6, 2, 2]), (-1, 1, "Conv", [128, 3, 2]), (-1, 3, "C3", [128]),
    (-1, 1, "Conv", [256, 3, 2]), (-1, 6, "C3", [256]), (-1, 1, "Conv", [512, 3, 2]),
    (-1, 9, "C3", [512]), (-1, 1, "Conv", [768, 3, 2]), (-1, 3, "C3", [768]),
    (-1, 1, "Conv", [1024, 3, 2]), (-1, 3, "C3", [1024]), (-1, 1, "SPPF", [1024, 5]),
    (-1, 1, "Conv", [768, 1, 1]), (-1, 1, "Upsample", []), ([-1, 8], 1, "Concat", [1]),
    (-1, 3, "C3", [768, False]), (-1, 1, "Conv", [512, 1, 1]), (-1, 1, "Upsample", []),
    ([-1, 6], 1, "Concat", [1]), (-1, 3, "C3", [512, False]), (-1, 1, "Conv", [256, 1, 1]),
    (-1, 1, "Upsample", []), ([-1, 4], 1, "Concat", [1]), (-1, 3, "C3", [256, False]),
    (-1, 1, "Conv", [256, 3, 2]), ([-1, 20], 1, "Concat", [1]), (-1, 3, "C3", [512, False]),
    (-1, 1, "Conv", [512, 3, 2]), ([-1, 16], 1, "Concat", [1]), (-1, 3, "C3", [768, False]),
    (-1, 1, "Conv", [768, 3, 2]), ([-1, 12], 1, "Concat", [1]), (-1, 3, "C3", [1024, False]),
    ([23, 26, 29, 32], 1, "Detect", []),
]  # fmt: skip
_CLASSES: dict[str, type] = {}


def _named(qualified: str) -> type:
    """A class pickled by ``qualified`` (a name in PyTorch or YOLOv5, neither installed)."""
    if qualified not in _CLASSES:
        module, name = qualified.rsplit(".", 1)
        _CLASSES[qualified] = type(name, (), {"__module__": module, "__qualname__": name})
    return _CLASSES[qualified]


@dataclass
class _Storage:
    key: str
    shape: tuple[int, ...]
    kind: str  # "weight", "bias", "gamma", "mean", "var", "anchors", "stride", "count"
    fan_in: int = 1
    value: np.ndarray | None = None

    def array(self, rng: np.random.Generator) -> np.ndarray:
        if self.value is not None:
            return self.value
        if self.kind == "weight":  # activations of about unit size: no sigmoid saturates
            return rng.normal(0, self.fan_in**-0.5, self.shape).astype(np.float16)
        low, high = {"gamma": (0.5, 1.5), "var": (0.5, 1.5)}.get(self.kind, (-0.2, 0.2))
        return rng.uniform(low, high, self.shape).astype(np.float16)


class _Tensor:
    def __init__(self, storage: _Storage, parameter: bool) -> None:
        self.storage, self.parameter = storage, parameter

    def __reduce__(self) -> tuple[Any, ...]:
        shape = self.storage.shape
        stride = tuple(math.prod(shape[i + 1 :]) for i in range(len(shape)))
        rebuilt = _Rebuilt(self.storage, shape, stride)
        if self.parameter:
            return _named("torch._utils._rebuild_parameter"), (rebuilt, True, OrderedDict())
        return rebuilt.__reduce__()


class _Rebuilt:
    def __init__(self, storage: _Storage, shape: tuple[int, ...], stride: tuple[int, ...]):
        self.storage, self.shape, self.stride = storage, shape, stride

    def __reduce__(self) -> tuple[Any, ...]:
        rebuild = _named("torch._utils._rebuild_tensor_v2")
        return rebuild, (self.storage, 0, self.shape, self.stride, False, OrderedDict())


class _Builder:
    """Module objects and their storages, numbered in the order they are made."""

    def __init__(self) -> None:
        self.storages: list[_Storage] = []

    def tensor(self, shape: tuple[int, ...], kind: str, *, parameter: bool = True, **more: Any):
        storage = _Storage(str(len(self.storages)), shape, kind, **more)
        self.storages.append(storage)
        return _Tensor(storage, parameter)

    def module(self, qualified: str, modules: dict[str, Any] | None = None, **attrs: Any) -> Any:
        made = _named(qualified).__new__(_named(qualified))
        params = attrs.pop("_parameters", OrderedDict())
        buffers = attrs.pop("_buffers", OrderedDict())
        made.__dict__.update(
            training=False, _parameters=params, _buffers=buffers,
            _non_persistent_buffers_set=set(), _modules=OrderedDict(modules or {}), **attrs,
        )  # fmt: skip
        return made

    def conv(self, c1: int, c2: int, k: int = 1, s: int = 1, p: int | None = None) -> Any:
        """YOLOv5's ``Conv``: Conv2d without bias, BatchNorm2d, SiLU."""
        p = k // 2 if p is None else p
        conv = self.module(
            "torch.nn.modules.conv.Conv2d",
            in_channels=c1, out_channels=c2, kernel_size=(k, k), stride=(s, s),
            padding=(p, p), dilation=(1, 1), groups=1, padding_mode="zeros",
            _parameters=OrderedDict(
                weight=self.tensor((c2, c1, k, k), "weight", fan_in=c1 * k * k), bias=None
            ),
        )  # fmt: skip
        bn = self.module(
            "torch.nn.modules.batchnorm.BatchNorm2d",
            num_features=c2, eps=0.001, momentum=0.03, affine=True, track_running_stats=True,
            _parameters=OrderedDict(
                weight=self.tensor((c2,), "gamma"), bias=self.tensor((c2,), "beta")
            ),
            _buffers=OrderedDict(
                running_mean=self.tensor((c2,), "mean", parameter=False),
                running_var=self.tensor((c2,), "var", parameter=False),
                num_batches_tracked=self.tensor(
                    (), "count", parameter=False, value=np.zeros((), np.int64)
                ),
            ),
        )  # fmt: skip
        act = self.module("torch.nn.modules.activation.SiLU", inplace=True)
        return self.module("models.common.Conv", {"conv": conv, "bn": bn, "act": act})

    def head(self, c1: int, c2: int) -> Any:
        """One level of ``Detect``: a 1 x 1 Conv2d with a bias."""
        return self.module(
            "torch.nn.modules.conv.Conv2d",
            in_channels=c1, out_channels=c2, kernel_size=(1, 1), stride=(1, 1),
            padding=(0, 0), dilation=(1, 1), groups=1,
            _parameters=OrderedDict(
                weight=self.tensor((c2, c1, 1, 1), "weight", fan_in=c1),
                bias=self.tensor((c2,), "beta"),
            ),
        )  # fmt: skip

    def c3(self, c1: int, c2: int, n: int, shortcut: bool = True) -> Any:
        hidden = int(c2 * 0.5)
        bottlenecks = {
            str(i): self.module(
                "models.common.Bottleneck",
                {"cv1": self.conv(hidden, hidden, 1), "cv2": self.conv(hidden, hidden, 3)},
                add=shortcut,
            )
            for i in range(n)
        }
        return self.module(
            "models.common.C3",
            {
                "cv1": self.conv(c1, hidden),
                "cv2": self.conv(c1, hidden),
                "cv3": self.conv(2 * hidden, c2),
                "m": self.module("torch.nn.modules.container.Sequential", bottlenecks),
            },
        )


def model(depth: float = 1.33, width: float = 1.25, classes: int = 3) -> tuple[Any, _Builder]:
    """A YOLOv5 P6 ``DetectionModel`` as YOLOv5's ``parse_model`` builds it, and its storages."""
    build = _Builder()
    no = classes + 5
    channels: list[int] = [3]
    layers = {}
    for i, (source, number, kind, args) in enumerate(LAYERS):
        n = max(round(number * depth), 1) if number > 1 else number
        c1 = channels[source] if isinstance(source, int) else 0
        if kind in ("Conv", "C3", "SPPF"):
            c2 = math.ceil(args[0] * width / 8) * 8
            if kind == "Conv":
                layer = build.conv(c1, c2, *args[1:])
            elif kind == "C3":
                layer = build.c3(c1, c2, n, *args[1:])
            else:
                pool = build.module(
                    "torch.nn.modules.pooling.MaxPool2d", kernel_size=5, stride=1, padding=2
                )
                cv1, cv2 = build.conv(c1, c1 // 2), build.conv(c1 // 2 * 4, c2)
                layer = build.module("models.common.SPPF", {"cv1": cv1, "cv2": cv2, "m": pool})
        elif kind == "Upsample":
            c2 = c1
            layer = build.module(
                "torch.nn.modules.upsampling.Upsample", size=None, scale_factor=2.0,
                mode="nearest", align_corners=None,
            )  # fmt: skip
        elif kind == "Concat":
            c2 = sum(channels[s] for s in source)
            layer = build.module("models.common.Concat", d=1)
        else:
            heads = {str(n): build.head(channels[s], 3 * no) for n, s in enumerate(source)}
            grid = np.array(ANCHORS, np.float32).reshape(4, 3, 2)
            anchors = grid / np.array(STRIDES, np.float32)[:, None, None]
            layer = build.module(
                "models.yolo.Detect",
                {"m": build.module("torch.nn.modules.container.ModuleList", heads)},
                nc=classes, no=no, nl=4, na=3, inplace=True,
                stride=build.tensor((4,), "stride", parameter=False,
                                    value=np.array(STRIDES, np.float32)),
                _buffers=OrderedDict(
                    anchors=build.tensor((4, 3, 2), "anchors", parameter=False, value=anchors)
                ),
            )  # fmt: skip
            c2 = no
        layer.__dict__.update(i=i, f=source, type=f"models.common.{kind}")
        layers[str(i)] = layer
        channels = [*channels[1:], c2] if i == 0 else [*channels, c2]
    sequential = build.module("torch.nn.modules.container.Sequential", layers)
    detection = build.module(
        "models.yolo.DetectionModel", {"model": sequential},
        save=[], names=[str(n) for n in range(classes)], inplace=True,
    )  # fmt: skip
    return detection, build


class _Pickler(pickle._Pickler):  # the Python pickler: its save_global can be taken over
    def save_global(self, obj: Any, name: str | None = None) -> None:
        if obj in _CLASSES.values():
            self.write(pickle.GLOBAL + f"{obj.__module__}\n{obj.__qualname__}\n".encode())
            self.memoize(obj)
        else:
            super().save_global(obj, name)

    def persistent_id(self, obj: Any) -> Any:
        if isinstance(obj, _Storage):
            kind = "LongStorage" if obj.value is not None and obj.kind == "count" else None
            kind = kind or ("FloatStorage" if obj.value is not None else "HalfStorage")
            return ("storage", _named(f"torch.{kind}"), obj.key, "cpu", math.prod(obj.shape))
        return None


def write(path: Path, *, depth: float = 1.33, width: float = 1.25, seed: int = 0) -> Path:
    """A checkpoint of ``{"epoch": -1, "model": <DetectionModel>, ...}`` at ``path``, its
    storages written one at a time."""
    detection, build = model(depth, width)
    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump(
        {"epoch": -1, "best_fitness": None, "model": detection, "ema": None, "updates": None,
         "optimizer": None, "date": "stand-in"}
    )  # fmt: skip
    folder = path.stem
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr(f"{folder}/data.pkl", buffer.getvalue())
        archive.writestr(f"{folder}/byteorder", "little")
        for storage in build.storages:
            archive.writestr(f"{folder}/data/{storage.key}", storage.array(rng).tobytes())
        archive.writestr(f"{folder}/version", "3\n")
    return path


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--depth", type=float, default=1.33)
    parser.add_argument("--width", type=float, default=1.25)
    options = parser.parse_args()
    written = write(options.out, depth=options.depth, width=options.width)
    print(f"{written}: {written.stat().st_size / 1e6:.0f} MB")
