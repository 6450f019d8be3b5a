"""Reading MegaDetector batch output (format 1.3+): the file's shape, checked and bounded."""

from __future__ import annotations

import hashlib
import json
import math
import re
from pathlib import PurePosixPath
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError
from pydantic_core import from_json

from trapline.errors import InvalidInput, PayloadTooLarge
from trapline.protocol.base import (
    FREE_TEXT,
    ONE_LINE,
    describe_problem,
    json_containers,
    json_values,
)

#: Largest file an import reads (about 100,000 images with a detection or two each).
MAX_IMPORT_BYTES = 24 * 1024 * 1024
#: Most JSON objects and arrays a file may open (parsed objects cost far more than bytes).
MAX_IMPORT_CONTAINERS = 300_000
#: Most JSON values a file may hold (``protocol.json_values``): an image with one detection is
#: ~10 (its file, the detection's category, confidence and four box numbers), and each costs
#: ~150 bytes of memory once checked, so ~50,000 images per import.
MAX_IMPORT_VALUES = 500_000
#: Most categories of each kind, detections per image, classifications per detection.
MAX_CATEGORIES = 10_000
MAX_DETECTIONS = 2_000
MAX_CLASSIFICATIONS = 100

CategoryId = Annotated[str, StringConstraints(min_length=1, max_length=16, pattern=r"^[0-9]+$")]
CategoryName = Annotated[str, StringConstraints(min_length=1, max_length=255, pattern=ONE_LINE)]
ModelName = Annotated[str, StringConstraints(max_length=255, pattern=ONE_LINE)]
FilePath = Annotated[str, StringConstraints(min_length=1, max_length=2048, pattern=FREE_TEXT)]
Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-fA-F]{64}$")]
Unit = Annotated[float, Field(ge=0, le=1, allow_inf_nan=False)]
#: Box coordinates may stray a little outside the image (rounding), never far.
Coordinate = Annotated[float, Field(ge=-0.01, le=1.01, allow_inf_nan=False)]
#: How MegaDetector's releases name their weights ("md_v5a.0.0.pt", "md_v4.1.0.pb",
#: "MDV5A", "md_v1000.0.0-redwood.pt"): each is a version of one model, MegaDetector.
MEGADETECTOR_RELEASE = re.compile(r"^md_?v\d", re.IGNORECASE)


class _Model(BaseModel):
    # The format has more keys than trapline reads (max_detection_conf, metadata...).
    model_config = ConfigDict(extra="ignore")


class MdDetection(_Model):
    category: CategoryId
    conf: Unit
    bbox: list[Coordinate] = Field(min_length=4, max_length=4)
    classifications: list[tuple[CategoryId, Unit]] | None = Field(
        None, max_length=MAX_CLASSIFICATIONS
    )


class MdImage(_Model):
    file: FilePath
    detections: list[MdDetection] | None = Field(None, max_length=MAX_DETECTIONS)
    failure: Annotated[str, StringConstraints(max_length=2000, pattern=FREE_TEXT)] | None = None
    #: Not in the format: a file's SHA-256, when the writer knows it (matched first).
    sha256: Sha256 | None = None


class MdDetectorMetadata(_Model):
    #: The score above which the detector's authors count a box (format 1.3+).
    typical_detection_threshold: Unit | None = None
    #: The release, when MegaDetector wrote the file ("v5a.0.0").
    megadetector_version: ModelName | None = None


class MdInfo(_Model):
    format_version: Annotated[str, StringConstraints(max_length=16, pattern=ONE_LINE)] = "1.0"
    detector: ModelName | None = None
    classifier: ModelName | None = None
    detector_metadata: MdDetectorMetadata | None = None

    @property
    def typical_threshold(self) -> float | None:
        """The file's own ``typical_detection_threshold``, when it gives one."""
        meta = self.detector_metadata
        return meta.typical_detection_threshold if meta is not None else None

    @property
    def megadetector(self) -> bool:
        """Whether a release of MegaDetector made the file (by its metadata, or by the name of
        the detector's weights, however its path is written)."""
        meta = self.detector_metadata
        if meta is not None and meta.megadetector_version:
            return True
        name = PurePosixPath((self.detector or "").replace("\\", "/")).name
        return bool(MEGADETECTOR_RELEASE.match(name))


class MdBatch(_Model):
    info: MdInfo = Field(default_factory=MdInfo)
    detection_categories: dict[CategoryId, CategoryName] = Field(max_length=MAX_CATEGORIES)
    classification_categories: dict[CategoryId, CategoryName] = Field(
        default_factory=dict, max_length=MAX_CATEGORIES
    )
    images: list[MdImage]

    def digest(self, *, by_model: bool = False) -> str:
        """What names the models: detector, classifier and both category tables; with
        ``by_model``, a release of MegaDetector as MegaDetector (its releases are versions)."""
        detector = "MegaDetector" if by_model and self.info.megadetector else self.info.detector
        named = [
            detector,
            self.info.classifier,
            sorted(self.detection_categories.items()),
            sorted(self.classification_categories.items()),
        ]
        return hashlib.sha256(json.dumps(named).encode()).hexdigest()


def parse_batch(data: bytes) -> MdBatch:
    """The file as a checked ``MdBatch``; InvalidInput (or PayloadTooLarge) saying what is
    wrong with it and where."""
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"a MegaDetector file may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB; "
            "split it by folder and import the parts"
        )
    # Upper bounds (braces and commas inside strings count too), before anything is parsed.
    if json_containers(data) > MAX_IMPORT_CONTAINERS:
        raise PayloadTooLarge(
            f"the file opens more than {MAX_IMPORT_CONTAINERS} JSON objects and arrays; split it"
            " by folder and import the parts"
        )
    if json_values(data) > MAX_IMPORT_VALUES:
        raise PayloadTooLarge(
            f"the file holds more than {MAX_IMPORT_VALUES} JSON values; split it by folder and"
            " import the parts"
        )
    try:
        # pydantic's parser refuses lone surrogates and bounds nesting (json.loads does not).
        raw: Any = from_json(data)
    except ValueError as exc:
        raise InvalidInput(f"the file is not JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise InvalidInput("the file is not MegaDetector batch output (a JSON object)")
    try:
        batch = MdBatch.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput(describe_problem(exc.errors()[0])) from exc
    for n, image in enumerate(batch.images):
        for k, d in enumerate(image.detections or ()):
            if d.category not in batch.detection_categories:
                raise InvalidInput(
                    f"images.{n}.detections.{k}.category: {d.category!r} is not in "
                    "detection_categories"
                )
            for c, _ in d.classifications or ():
                if c not in batch.classification_categories:
                    raise InvalidInput(
                        f"images.{n}.detections.{k}.classifications: {c!r} is not in "
                        "classification_categories"
                    )
    return batch


def pixel_box(
    bbox: list[float], width: int, height: int
) -> tuple[float, float, float, float] | None:
    """A normalised [x, y, w, h] as pixels x1 y1 x2 y2 inside the image; None when empty."""
    x, y, w, h = bbox
    x1, y1 = max(x * width, 0.0), max(y * height, 0.0)
    x2, y2 = min((x + w) * width, float(width)), min((y + h) * height, float(height))
    if not (x2 > x1 and y2 > y1) or not all(math.isfinite(v) for v in (x1, y1, x2, y2)):
        return None
    return (x1, y1, x2, y2)
