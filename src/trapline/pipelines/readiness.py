"""Whether each built-in pipeline can run in this install, and what makes it ready.

One answer for the worker and the web app: the worker refuses to start a pipeline that needs
the ``[onnx]`` extra before it downloads anything, and leaves unasked-for pipelines out until
they are ready; the Processing page lists every built-in pipeline with its state and what to
do (``registry.builtin_readiness``).
"""

from __future__ import annotations

import importlib.util
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from pathlib import Path

from trapline.pipelines.letterbox import ONNX_EXTRA_HINT
from trapline.pipelines.weights import PARTIAL_SUFFIX

#: The modules ONNX pipelines run with (ONNX Runtime, and OpenCV for the letterbox), and the
#: one converting MegaDetector's checkpoint needs as well; module names, not package names.
ONNX_RUNTIME_MODULES = ("onnxruntime", "cv2")
CONVERSION_MODULES = ("onnx",)
#: A partial file not written to for this many seconds is left over, not under way.
STALE_AFTER = 120.0


class State(StrEnum):
    """Where a pipeline stands in this install."""

    READY = "ready"
    NEEDS_EXTRA = "needs the [onnx] extra"
    NEEDS_WEIGHTS = "needs its weights"
    DOWNLOADING = "downloading its weights"
    CONVERTING = "converting its weights"


@dataclass(frozen=True)
class WeightsFile:
    """A file the pipeline is made from: where it is published and the MD5 to check it by."""

    name: str
    url: str
    md5: str


@dataclass(frozen=True)
class Readiness:
    """A pipeline's state and, unless it is ready, what to do about it."""

    slug: str
    name: str
    state: State
    #: One line: what makes it ready (or, when ready, anything worth knowing).
    how: str = ""
    #: The folder its weights go in, and the files it can be made from (first: the one it
    #: downloads), for pipelines with weights.
    folder: Path | None = None
    files: Sequence[WeightsFile] = field(default_factory=tuple)

    @property
    def ready(self) -> bool:
        """Whether a worker can run it now (or after converting a checkpoint in place)."""
        return self.state is State.READY


def missing_modules(names: Sequence[str]) -> list[str]:
    """Those of ``names`` that cannot be imported here (looked up, not imported)."""
    return [name for name in names if importlib.util.find_spec(name) is None]


def extra_needed(slug: str, name: str, missing: Sequence[str]) -> Readiness:
    """A pipeline that cannot run without the ``[onnx]`` extra, and the line that says so."""
    return Readiness(
        slug,
        name,
        State.NEEDS_EXTRA,
        f"pipeline {slug!r} needs ONNX support ({', '.join(missing)} not installed): "
        f"{ONNX_EXTRA_HINT}",
    )


def under_way(target: Path, now: datetime | None = None) -> bool:
    """Whether a download or conversion to ``target`` is writing its partial file now."""
    moment = now.timestamp() if now is not None else time.time()
    pattern = f".{target.name}.*{PARTIAL_SUFFIX}"
    return any(moment - part.stat().st_mtime < STALE_AFTER for part in target.parent.glob(pattern))
