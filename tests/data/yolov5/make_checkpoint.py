"""Makes ``tiny-p6.pt`` and ``tiny-p6-expected.npz``, the fixture of
``tests/unit/pipelines/test_yolov5_onnx.py``. Not part of the suite: it needs PyTorch and
the ``yolov5`` package, which trapline does not depend on.

The checkpoint is a YOLOv5 P6 network (MegaDetector v5's layout: four detection levels,
strides 8 to 64, three classes) made by YOLOv5's own code, with its channels cut down so the
file is small, random weights and batch-norm statistics, saved in half precision as YOLOv5's
training saves it, its classes named ``models.*`` as in MegaDetector's file. The expected
output is PyTorch's own forward pass (in float32) on a fixed input.

    pip install torch yolov5 && python tests/data/yolov5/make_checkpoint.py
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch
import yaml
import yolov5.models
import yolov5.models.common
import yolov5.models.yolo
from yolov5.models.yolo import Model

HERE = Path(__file__).resolve().parent
SIZE = 128


def main() -> None:
    torch.manual_seed(0)
    hub = Path(yolov5.models.__file__).parent / "hub" / "yolov5x6.yaml"
    config = yaml.safe_load(hub.read_text())
    config.update(nc=3, depth_multiple=0.33, width_multiple=0.0625)
    model = Model(config, ch=3, nc=3).eval()
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.BatchNorm2d):
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 1.5)
            elif isinstance(module, torch.nn.Conv2d):
                # Outputs of about unit size, so no sigmoid saturates and hides an error.
                module.weight.normal_(0, module.weight[0].numel() ** -0.5)
    # The names MegaDetector's checkpoint carries (YOLOv5's repository layout).
    sys.modules["models"] = yolov5.models
    sys.modules["models.common"] = yolov5.models.common
    sys.modules["models.yolo"] = yolov5.models.yolo
    for module in model.modules():
        if type(module).__module__.startswith("yolov5.models."):
            type(module).__module__ = type(module).__module__.removeprefix("yolov5.")
    half = Model(config, ch=3, nc=3)
    half.load_state_dict(model.state_dict())
    half = half.half().eval()
    torch.save(
        {"epoch": -1, "model": half, "optimizer": None, "date": "fixture"}, HERE / "tiny-p6.pt"
    )
    # The test makes the same input.
    image = torch.from_numpy(np.random.default_rng(1).random((2, 3, SIZE, SIZE), np.float32))
    with torch.no_grad():
        reference = half.float()(image)[0].numpy()
    np.savez_compressed(HERE / "tiny-p6-expected.npz", output=reference)
    print(reference.shape, (HERE / "tiny-p6.pt").stat().st_size)


if __name__ == "__main__":
    main()
