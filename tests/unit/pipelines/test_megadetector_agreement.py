"""trapline's MegaDetector finds what MegaDetector's own runner finds: the stand-in checkpoint
(tests/data/yolov5, a YOLOv5 P6 of MegaDetector's layout made by YOLOv5's code) converted and
run by the ``megadetector`` pipeline end to end, against MegaDetector's pre- and
post-processing re-derived from its source (tests/support/megadetector_rule.py) on the same
network, box by box: same label, same whole-pixel box, same score.

The stand-in's random weights score every box under 0.02, under anything MegaDetector keeps;
its detection layer's objectness biases are raised by 3 so that hundreds of boxes per photo
pass 0.05 (its weights otherwise as made)."""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from PIL import Image

from tests.support import megadetector_rule
from trapline.pipelines import SourceImage
from trapline.pipelines.megadetector import KEEP_ABOVE, MegaDetectorPipeline, Release
from trapline.pipelines.torch_checkpoint import read_checkpoint
from trapline.pipelines.weights import file_digest

STAND_IN = Path(__file__).resolve().parents[2] / "data" / "yolov5" / "tiny-p6.pt"
#: Camera-trap frames (landscape, portrait), a small photo that is scaled up, odd sizes, and
#: a photo OpenCV halves exactly.
SIZES = [(2048, 1440), (1440, 2048), (640, 480), (1001, 667), (2560, 1920)]


def raised(target: Path, by: float = 3.0) -> Path:
    """The stand-in checkpoint with its detection layer's objectness biases raised by ``by``."""
    detect = read_checkpoint(STAND_IN)["model"].child("model").children()[-1]
    biases = {head.tensor_ref("bias").storage.name for head in detect.child("m").children()}
    with zipfile.ZipFile(STAND_IN) as source, zipfile.ZipFile(target, "w") as copy:
        for member in source.infolist():
            data = source.read(member)
            if member.filename in biases:
                rows = np.frombuffer(data, np.float16).reshape(3, 8).copy()
                rows[:, 4] += by  # per anchor: x, y, w, h, objectness, three classes
                data = rows.tobytes()
            copy.writestr(member, data)
    return target


def photo(width: int, height: int, seed: int) -> Image.Image:
    """Gradients, discs of flat colour and noise: edges and texture for the network."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width]
    base = np.stack([x * 255 // width, y * 255 // height, (x + y) * 127 // (width + height)], -1)
    pixels = base.astype(np.float32)
    for _ in range(12):
        cx, cy = rng.integers(0, width), rng.integers(0, height)
        radius = rng.integers(min(width, height) // 20, min(width, height) // 4)
        pixels[(x - cx) ** 2 + (y - cy) ** 2 < radius**2] = rng.integers(0, 256, 3)
    pixels += rng.normal(0, 12, pixels.shape)
    return Image.fromarray(pixels.clip(0, 255).astype(np.uint8))


@pytest.mark.slow
def test_the_pipelines_boxes_are_megadetectors_box_for_box(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpoint = raised(tmp_path / "md_v5a.0.0.pt")
    # A checkpoint of no release's MD5 (a fine-tuned MegaDetector) is converted after a warning.
    pipeline = MegaDetectorPipeline(
        tmp_path, releases=(Release("http://127.0.0.1:1/md_v5a.0.0.pt", "0" * 32),)
    )
    with caplog.at_level(logging.WARNING, logger="trapline.pipelines.megadetector"):
        pipeline.load()
    assert f"has MD5 {file_digest(checkpoint, 'md5')}, which is no" in caplog.text
    session = onnxruntime.InferenceSession(
        str(tmp_path / "md_v5a.onnx"), providers=["CPUExecutionProvider"]
    )
    compared = agreed = 0
    for seed, (width, height) in enumerate(SIZES):
        image = photo(width, height, seed)
        (result,) = pipeline.process([SourceImage(f"photo-{seed}", image)])
        ours = {
            (d.classifications[0].classification, (d.bbox.x1, d.bbox.y1, d.bbox.x2, d.bbox.y2)):
            d.classifications[0].scores[0]
            for d in result.detections
            if d.bbox is not None
        }  # fmt: skip
        theirs = megadetector_rule.detections(session, image, KEEP_ABOVE)
        # Both keep MegaDetector's 300 best: a box that lies wholly on the padding is dropped
        # by trapline only.
        assert 200 < len(theirs) <= 300, (width, height)
        compared += len(theirs)
        agreed += sum(
            ours.get((label, box)) == pytest.approx(score, abs=1e-6) for label, score, box in theirs
        )
        assert len(ours) <= len(theirs)
    print(f"trapline agrees with MegaDetector's runner on {agreed} of {compared} boxes")
    assert agreed == compared
