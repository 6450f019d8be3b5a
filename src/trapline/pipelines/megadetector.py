"""``megadetector``: MegaDetector v5a, the camera-trap detector of animals, people and vehicles.

MegaDetector's developers publish its weights for PyTorch (``md_v5a.0.0.pt``); trapline runs it
as an ONNX model (the same YOLOv5x6 network, 1280 x 1280 input, output rows of centre, size,
objectness and the three class scores) through ``onnx_detector``, so a worker needs no PyTorch
(decisions 042 and 046). The first time the pipeline loads, it downloads the checkpoint from
the developers' release into the worker's weights folder, keeps it only if its MD5 is the one
they publish, and converts it to ``md_v5a.0.0.onnx`` (``yolov5_onnx``). A checkpoint or
an ONNX file put there by hand is used as it is. Without either, the pipeline is not served
unless asked for; asked for on a machine without internet, it says where to put which file
and how to check it (docs/pipelines.md, MegaDetector).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from trapline.errors import InvalidInput, Unavailable
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.spec import PipelineSpec
from trapline.pipelines.weights import (
    DEFAULT_CACHE_DIR,
    download_checked,
    file_digest,
    file_sha256,
)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Release:
    """Where a MegaDetector checkpoint is published, and the MD5 its developers give for it."""

    url: str
    md5: str

    @property
    def file_name(self) -> str:
        """The checkpoint's file name, in the weights folder too."""
        return self.url.rsplit("/", 1)[-1]


#: MegaDetector v5a as its developers publish it; they give an MD5 for each model file (their
#: own package checks downloads against it), and no SHA-256.
V5A = Release(
    url="https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.0.pt",
    md5="ec1d7603ec8cf642d6e0cd008ba2be8c",
)
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


def missing_weights(cache_dir: Path | None = None, release: Release = V5A) -> str | None:
    """Why the pipeline is not served unasked (neither its ONNX file nor the checkpoint it is
    made from is in place), or None."""
    path = weights_path(cache_dir)
    if path.is_file() or path.with_name(release.file_name).is_file():
        return None
    return _where_to_put(cache_dir, release, "it is not in the weights folder")


def _where_to_put(cache_dir: Path | None, release: Release, why: str) -> str:
    path = weights_path(cache_dir)
    checkpoint = path.with_name(release.file_name)
    return (
        f"pipeline 'megadetector' needs MegaDetector v5a, and {why}. On a machine with "
        f"internet the pipeline downloads it itself. Otherwise download {release.url} "
        f"elsewhere, check it with `md5sum {release.file_name}` (it must print {release.md5}), "
        f"and copy it to {checkpoint}: trapline converts it to ONNX on first use. Or put your "
        f"own ONNX export at {path} and check it with `sha256sum` (docs/pipelines.md, "
        "MegaDetector). Another folder: set TRAPLINE_WEIGHTS_CACHE_DIR"
    )


def ensure_weights(cache_dir: Path | None = None, release: Release = V5A) -> Path:
    """The ONNX file the pipeline runs, made first if need be: from the checkpoint in the
    weights folder, downloaded from ``release`` if it is not there, and converted.

    Raises:
        InvalidInput: the checkpoint could not be downloaded, or has another MD5 than the
            release's, or is not a YOLOv5 checkpoint trapline can convert.
    """
    path = weights_path(cache_dir)
    if path.is_file():
        return path
    checkpoint = path.with_name(release.file_name)
    try:
        download_checked(release.url, checkpoint, algorithm="md5", digest=release.md5)
    except Unavailable as exc:
        raise InvalidInput(_where_to_put(cache_dir, release, f"{exc.detail}")) from exc
    if (actual := file_digest(checkpoint, "md5")) != release.md5:
        raise InvalidInput(
            f"{checkpoint} has MD5 {actual}, not {release.md5}, the MD5 of {release.url}: "
            "it is not that file; delete it and try again"
        )
    from trapline.pipelines.yolov5_onnx import convert

    log.info("converting %s (SHA-256 %s) to ONNX", checkpoint, file_sha256(checkpoint))
    return convert(checkpoint, path, INPUT_SIZE)


class MegaDetectorPipeline(OnnxPipeline):
    """MegaDetector v5a as an ONNX detector; boxes labelled animal, person or vehicle."""

    def __init__(self, cache_dir: Path | None = None, release: Release = V5A) -> None:
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
        self.cache_dir, self.release = cache_dir, release
        self._loaded = False

    @property
    def default_threshold(self) -> float:
        """MegaDetector's recommended threshold for v5."""
        return THRESHOLD

    def load(self) -> None:
        """Open the model, made first from the released checkpoint if need be
        (``ensure_weights``), logging its file's SHA-256; once."""
        if self._loaded:
            return
        path = ensure_weights(self.cache_dir, self.release)
        log.info("MegaDetector weights %s, SHA-256 %s", path, file_sha256(path))
        super().load()
        self._loaded = True
