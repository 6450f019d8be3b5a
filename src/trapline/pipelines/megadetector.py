"""``megadetector``: MegaDetector v5a, the camera-trap detector of animals, people and vehicles.

MegaDetector's developers publish its weights for PyTorch (``md_v5a.0.0.pt``); trapline runs it
as an ONNX model (the same YOLOv5x6 network exported, 1280 x 1280 input, output rows of centre,
size, objectness and the three class scores) through ``onnx_detector``, so a worker needs no
PyTorch (decision 042). The file goes into the worker's weights folder as
``md_v5a.0.0.onnx``; without it the pipeline is not served unless asked for, and asking for it
says where to put the file and how to check it (docs/pipelines.md, MegaDetector).
"""

from __future__ import annotations

import logging
from pathlib import Path

from trapline.errors import InvalidInput
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec
from trapline.pipelines.weights import DEFAULT_CACHE_DIR, file_sha256

log = logging.getLogger(__name__)

#: The ONNX file the pipeline runs, in the worker's weights folder.
WEIGHTS_NAME = "md_v5a.0.0.onnx"
#: MegaDetector's categories, in model-output order.
LABELS = ("animal", "person", "vehicle")
#: MegaDetector's recommended threshold for v5 ("typical detection threshold"): boxes under it
#: are kept but not counted as finds.
THRESHOLD = 0.2
#: Boxes under MegaDetector's "conservative" threshold are not kept at all.
KEEP_ABOVE = 0.05
#: The input MegaDetector v5 was trained at.
INPUT_SIZE = 1280


def weights_path(cache_dir: Path | None = None) -> Path:
    """Where the worker looks for MegaDetector's ONNX file."""
    return (cache_dir or DEFAULT_CACHE_DIR).expanduser() / WEIGHTS_NAME


def missing_weights(cache_dir: Path | None = None) -> str | None:
    """Why the pipeline cannot run here (its weights are not in place), or None."""
    path = weights_path(cache_dir)
    if path.is_file():
        return None
    return (
        f"pipeline 'megadetector' needs MegaDetector v5a as ONNX at {path}: export "
        "md_v5a.0.0.pt from MegaDetector's v5.0 release to ONNX (docs/pipelines.md, "
        f"MegaDetector), copy it there, and check it with `sha256sum {path}` against the "
        "SHA-256 of the file you exported (another folder: set "
        "TRAPLINE_WEIGHTS_CACHE_DIR)"
    )


class MegaDetectorPipeline(OnnxPipeline):
    """MegaDetector v5a as an ONNX detector; boxes labelled animal, person or vehicle."""

    def __init__(self, cache_dir: Path | None = None) -> None:
        spec = PipelineSpec.model_validate(
            {
                "slug": "megadetector",
                "name": "MegaDetector v5a",
                "description": (
                    "Animals, people and vehicles in camera-trap photos (MegaDetector v5a, "
                    f"ONNX); boxes under {THRESHOLD:g} are kept but not counted."
                ),
                "detector": {
                    "name": "MegaDetector v5a",
                    "key": "megadetector-v5a",
                    "weights": str(weights_path(cache_dir)),
                    "input_size": INPUT_SIZE,
                    "layout": "yolov5",
                    "labels": list(LABELS),
                    "confidence": KEEP_ABOVE,
                    "batch_size": 1,
                },
            },
            context={"weights_checked_when_loaded": True},
        )
        super().__init__(spec, cache_dir)
        self.cache_dir = cache_dir

    @property
    def default_threshold(self) -> float:
        """MegaDetector's recommended threshold for v5."""
        return THRESHOLD

    def load(self) -> None:
        """Open the model, logging its file's SHA-256 (to check against the exported file's);
        a clear error when the file is not in place."""
        if (problem := missing_weights(self.cache_dir)) is not None:
            raise InvalidInput(problem)
        path = weights_path(self.cache_dir)
        log.info("MegaDetector weights %s, SHA-256 %s", path, file_sha256(path))
        super().load()
