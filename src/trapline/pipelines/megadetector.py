"""``megadetector``: MegaDetector v5a, the camera-trap detector of animals, people and vehicles.

MegaDetector's developers publish its weights for PyTorch (``md_v5a.0.0.pt``, re-released as
``md_v5a.0.1.pt``); trapline runs it as an ONNX model (the same YOLOv5x6 network; output rows
of centre, size, objectness and the three class scores) through ``onnx_detector``, so a worker
needs no PyTorch (decisions 042, 046 and 047). Each photo is fitted as MegaDetector's own
runner fits it: 1280 on the long side, padded to a multiple of 64 (``letterbox``). The first
time the pipeline loads, it downloads the checkpoint from the developers' release into the
worker's weights folder, keeps it only if its MD5 is the one they publish, and converts it to
``md_v5a.onnx`` (``yolov5_onnx``). A checkpoint put there by hand under either release's name
is converted too, after a warning when its MD5 is neither release's (a fine-tuned
MegaDetector); an ONNX file put there is used as it is. ``readiness`` says where it stands
(docs/pipelines.md, MegaDetector).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from trapline.errors import InvalidInput, MissingDependency, Unavailable
from trapline.pipelines.onnx_pipeline import OnnxPipeline
from trapline.pipelines.readiness import (
    CONVERSION_MODULES,
    ONNX_RUNTIME_MODULES,
    Readiness,
    State,
    WeightsFile,
    extra_needed,
    missing_modules,
    under_way,
)
from trapline.pipelines.spec import PipelineSpec
from trapline.pipelines.weights import (
    DEFAULT_CACHE_DIR,
    download_checked,
    file_digest,
    file_sha256,
)

log = logging.getLogger(__name__)

SLUG = "megadetector"
NAME = "MegaDetector v5a"


@dataclass(frozen=True)
class Release:
    """Where a MegaDetector checkpoint is published, and the MD5 its developers give for it."""

    url: str
    md5: str

    @property
    def file_name(self) -> str:
        """The checkpoint's file name, in the weights folder too."""
        return self.url.rsplit("/", 1)[-1]


#: MegaDetector v5a as its developers first published it; they give an MD5 for each model file
#: (their package checks downloads against it, ``known_models`` in
#: ``megadetector/detection/run_detector.py``), and no SHA-256.
V5A_0_0 = Release(
    url="https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.0.pt",
    md5="ec1d7603ec8cf642d6e0cd008ba2be8c",
)
#: The same model re-released with its metadata in the archive (``megadetector_info.json``):
#: what MegaDetector's documentation links to and its package downloads for "MDV5A" today.
V5A_0_1 = Release(
    url="https://github.com/agentmorris/MegaDetector/releases/download/v5.0/md_v5a.0.1.pt",
    md5="60f8e7ec1308554df258ed1f4040bc4f",
)
#: The checkpoints the pipeline knows by name and MD5; it downloads the first.
RELEASES = (V5A_0_1, V5A_0_0)
#: The ONNX file the pipeline runs, in the worker's weights folder.
WEIGHTS_NAME = "md_v5a.onnx"
#: MegaDetector's categories, in model-output order.
LABELS = ("animal", "person", "vehicle")
#: MegaDetector's recommended threshold for v5 ("typical detection threshold"): boxes under it
#: are kept but not counted as finds.
THRESHOLD = 0.2
#: Boxes under MegaDetector's "conservative" threshold are not kept at all.
KEEP_ABOVE = 0.05
#: The long side MegaDetector v5 was trained at, and the stride its runner pads to
#: (``PTDetector``: ``default_image_size`` 1280, ``letterbox_stride`` 64).
INPUT_SIZE = 1280
STRIDE = 64


def weights_path(cache_dir: Path | None = None) -> Path:
    """Where the worker looks for MegaDetector's ONNX file."""
    return (cache_dir or DEFAULT_CACHE_DIR).expanduser() / WEIGHTS_NAME


def readiness(
    cache_dir: Path | None = None,
    releases: tuple[Release, ...] = RELEASES,
    now: datetime | None = None,
) -> Readiness:
    """Where the pipeline stands in this install: ready (its ONNX file, or a checkpoint to
    convert on first use, is in the weights folder), needs the ``[onnx]`` extra, needs its
    weights, or is downloading or converting them."""
    path = weights_path(cache_dir)
    checkpoint = placed_checkpoint(cache_dir, releases)
    needed = ONNX_RUNTIME_MODULES + (() if path.is_file() else CONVERSION_MODULES)
    if missing := missing_modules(needed):
        return extra_needed(SLUG, NAME, missing)
    files = tuple(WeightsFile(r.file_name, r.url, r.md5) for r in releases)
    if path.is_file():
        return Readiness(SLUG, NAME, State.READY, folder=path.parent, files=files)
    if under_way(path, now):
        how = "a worker is converting its checkpoint to ONNX (seconds); it is ready then"
        return Readiness(SLUG, NAME, State.CONVERTING, how, path.parent, files)
    if checkpoint is not None:
        how = f"{checkpoint.name} is converted to ONNX when a worker first loads it"
        return Readiness(SLUG, NAME, State.READY, how, path.parent, files)
    if any(under_way(path.with_name(r.file_name), now) for r in releases):
        how = "a worker is downloading its checkpoint (281 MB); it is converted next"
        return Readiness(SLUG, NAME, State.DOWNLOADING, how, path.parent, files)
    return Readiness(
        SLUG, NAME, State.NEEDS_WEIGHTS, _where_to_put(cache_dir, releases), path.parent, files
    )


def placed_checkpoint(
    cache_dir: Path | None = None, releases: tuple[Release, ...] = RELEASES
) -> Path | None:
    """The checkpoint in the weights folder under a release's name (in ``releases``' order)."""
    folder = weights_path(cache_dir).parent
    found = (folder / r.file_name for r in releases)
    return next((path for path in found if path.is_file()), None)


def _where_to_put(cache_dir: Path | None, releases: tuple[Release, ...]) -> str:
    path, first = weights_path(cache_dir), releases[0]
    others = "".join(f" ({r.file_name}, MD5 {r.md5}, will do too)" for r in releases[1:])
    return (
        f"pipeline 'megadetector' needs MegaDetector v5a's weights in {path.parent}. A worker "
        f"with internet downloads them itself on first start (trapline worker --pipeline "
        f"megadetector). Otherwise download {first.url} elsewhere{others}, check it with "
        f"`md5sum {first.file_name}` (it must print {first.md5}), and copy it to "
        f"{path.parent}: trapline converts it to ONNX on first use. Or put your own ONNX export "
        f"at {path} (docs/pipelines.md, MegaDetector). Another folder: set "
        "TRAPLINE_WEIGHTS_CACHE_DIR"
    )


def ensure_weights(cache_dir: Path | None = None, releases: tuple[Release, ...] = RELEASES) -> Path:
    """The ONNX file the pipeline runs, made first if need be: from the checkpoint in the
    weights folder, downloaded from the first of ``releases`` if none is there, and converted.

    Raises:
        MissingDependency: ONNX support is not installed (said before anything is downloaded).
        InvalidInput: the checkpoint could not be downloaded, or the download has another MD5
            than the release's, or it is not a YOLOv5 checkpoint trapline can convert.
    """
    state = readiness(cache_dir, releases)
    if state.state is State.NEEDS_EXTRA:
        raise MissingDependency(state.how)
    path = weights_path(cache_dir)
    if path.is_file():
        return path
    checkpoint = placed_checkpoint(cache_dir, releases)
    if checkpoint is None:
        first = releases[0]
        checkpoint = path.with_name(first.file_name)
        try:
            download_checked(first.url, checkpoint, algorithm="md5", digest=first.md5)
        except Unavailable as exc:
            where = _where_to_put(cache_dir, releases)
            raise InvalidInput(f"could not download MegaDetector ({exc.detail}). {where}") from exc
    elif (actual := file_digest(checkpoint, "md5")) not in {r.md5 for r in releases}:
        log.warning(
            "%s has MD5 %s, which is no MegaDetector v5a release's (%s): converting it as a "
            "YOLOv5 detector of your own with MegaDetector's classes (a fine-tuned "
            "MegaDetector); if it should be the release, delete it and download it again",
            checkpoint,
            actual,
            ", ".join(f"{r.file_name} {r.md5}" for r in releases),
        )
    from trapline.pipelines.yolov5_onnx import convert

    log.info("converting %s (SHA-256 %s) to ONNX", checkpoint, file_sha256(checkpoint))
    return convert(checkpoint, path)


class MegaDetectorPipeline(OnnxPipeline):
    """MegaDetector v5a as an ONNX detector; boxes labelled animal, person or vehicle."""

    def __init__(
        self, cache_dir: Path | None = None, releases: tuple[Release, ...] = RELEASES
    ) -> None:
        spec = PipelineSpec.model_validate(
            {
                "slug": SLUG,
                "name": NAME,
                # 2: photos fitted as MegaDetector's runner fits them (decision 047).
                "version": 2,
                "description": (
                    "Animals, people and vehicles in camera-trap photos (MegaDetector v5a, "
                    f"ONNX); boxes under {THRESHOLD:g} are kept but not counted."
                ),
                "detector": {
                    "name": NAME,
                    "key": "megadetector-v5a",
                    "version": 2,
                    "weights": str(weights_path(cache_dir)),
                    "input_size": INPUT_SIZE,
                    "stride": STRIDE,
                    "layout": "yolov5",
                    "labels": list(LABELS),
                    "confidence": KEEP_ABOVE,
                    "batch_size": 1,
                },
            },
            context={"weights_checked_when_loaded": True},
        )
        super().__init__(spec, cache_dir)
        self.cache_dir, self.releases = cache_dir, releases
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
        path = ensure_weights(self.cache_dir, self.releases)
        log.info("MegaDetector weights %s, SHA-256 %s", path, file_sha256(path))
        super().load()
        (width, height), stride = self.detector.geometry()
        if stride is None:
            log.warning(
                "%s takes only %dx%d photos: they are padded to that square, while "
                "MegaDetector's own runner pads each photo only to a multiple of %d, so boxes "
                "can differ from its. A checkpoint converted by trapline takes any size: delete "
                "%s to have it made again from the checkpoint in %s",
                path.name, width, height, STRIDE, path.name, path.parent,
            )  # fmt: skip
        self._loaded = True
