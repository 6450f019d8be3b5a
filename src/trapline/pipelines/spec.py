"""Pipeline spec files: ONNX pipelines described in YAML, added with ``--pipeline-file``.

A spec file lists pipelines; each has a detector stage and optional classifier stages that run
on the detector's crops in order. Relative paths (weights, label files) are taken relative to
the spec file. Every mistake is reported as ``InvalidInput`` naming the file and the field.

.. code-block:: yaml

    pipelines:
      - slug: megadetector-v5a
        name: MegaDetector v5a
        detector:
          type: onnx-detector
          weights: https://example.org/md_v5a.0.0.onnx
          sha256: 94a1…
          input_size: 1280
          layout: yolov5
          labels: [animal, person, vehicle]
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from trapline.errors import InvalidInput
from trapline.pipelines.weights import is_url

#: ImageNet channel means and deviations, what most classifiers are trained with.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9._-]*$", max_length=200)]
Sha256 = Annotated[str, Field(pattern=r"^[0-9a-fA-F]{64}$")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
Triple = tuple[float, float, float]


class SpecModel(BaseModel):
    """Base of spec models: unknown keys are refused (a typo should not pass silently)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class StageSpec(SpecModel):
    """What every model stage has: identity, weights, input size and labels."""

    name: str | None = None
    key: Slug | None = None
    version: int = Field(1, ge=1)
    description: str | None = None
    #: Path (relative to the spec file) or http(s) URL of the ONNX file.
    weights: str
    #: SHA-256 of the weights file; required when ``weights`` is a URL.
    sha256: Sha256 | None = None
    #: Width and height the model takes; one number for a square input.
    input_size: tuple[int, int]
    #: Category names in model-output order; or ``labels_file``.
    labels: list[str] = Field(default_factory=list)
    #: A text file with one label per line, or a JSON list, or a JSON object label → index,
    #: or a JSON list of objects each with a ``label`` and what is known of it (category-map
    #: data as Antenna keeps it: ``taxon_rank``, ``gbif_key``…).
    labels_file: str | None = None
    #: Per-label data in label order (from a labels file of objects); registered with the
    #: labels as the category map's ``data``.
    label_data: list[dict[str, Any]] | None = None
    #: Images (detector) or crops (classifier) per inference call.
    batch_size: int = Field(8, ge=1, le=1024)
    #: Labels whose detections go on to the next stage; all when not given.
    keep: list[str] | None = None

    @field_validator("input_size", mode="before")
    @classmethod
    def _square(cls, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            return (value, value)
        if isinstance(value, list | tuple) and len(value) == 2:
            return value
        raise ValueError(f"must be a number of pixels or [width, height] (got {value!r})")

    @field_validator("input_size")
    @classmethod
    def _sensible_size(cls, value: tuple[int, int]) -> tuple[int, int]:
        if not all(1 <= side <= 8192 for side in value):
            raise ValueError(f"sides must be from 1 to 8192 pixels (got {value[0]}x{value[1]})")
        return value

    @field_validator("weights")
    @classmethod
    def _resolve_weights(cls, value: str, info: ValidationInfo) -> str:
        if is_url(value):
            return value
        path = _resolve(value.removeprefix("file://"), info)
        # A spec file names its weights: missing ones are reported at once. A built-in
        # pipeline's weights are put in place by hand; it says so when it is loaded.
        checked_later = (info.context or {}).get("weights_checked_when_loaded", False)
        if not path.is_file() and not checked_later:
            raise ValueError(f"no weights file at {path}")
        return str(path)

    @model_validator(mode="before")
    @classmethod
    def _read_labels_file(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("labels_file"), str):
            return data
        if data.get("labels"):
            raise ValueError("give labels or labels_file, not both")
        path = _resolve(data["labels_file"], info)
        labels, label_data = read_label_data(path)
        return {**data, "labels_file": str(path), "labels": labels, "label_data": label_data}

    @model_validator(mode="after")
    def _complete(self) -> StageSpec:
        if is_url(self.weights) and self.sha256 is None:
            raise ValueError("sha256 is required when weights is a URL")
        if not self.labels:
            raise ValueError("labels (or labels_file) must list at least one label")
        if len(set(self.labels)) != len(self.labels):
            raise ValueError("labels must not repeat")
        if self.label_data is not None and len(self.label_data) != len(self.labels):
            raise ValueError("label_data must have one entry per label")
        unknown = sorted(set(self.keep or ()) - set(self.labels))
        if unknown:
            raise ValueError(f"keep names labels the stage does not have: {', '.join(unknown)}")
        return self


class DetectorSpec(StageSpec):
    """A YOLO-style ONNX object detector (YOLOv5 or YOLOv8 output layout)."""

    type: Literal["onnx-detector"] = "onnx-detector"
    #: ``yolov5``: (N, boxes, 5 + classes) with objectness; ``yolov8``: (N, 4 + classes, boxes).
    layout: Literal["yolov5", "yolov8"]
    #: Least score (objectness times class score for yolov5) a box must have.
    confidence: Fraction = 0.25
    #: Overlap (intersection over union) above which a box of the same class is suppressed.
    iou: Fraction = 0.45
    #: Most boxes kept per image, best first.
    max_detections: int = Field(300, ge=1, le=10000)
    #: Pad each photo only to the next multiple of this many pixels instead of the whole
    #: ``input_size`` (YOLOv5's ``auto`` letterbox; MegaDetector's runner uses 64): the model
    #: must take any height and width. Ignored for a model exported with a fixed size.
    stride: int | None = Field(None, ge=1, le=1024)


class ClassifierSpec(StageSpec):
    """An ONNX image classifier run on each detection's crop."""

    type: Literal["onnx-classifier"] = "onnx-classifier"
    batch_size: int = Field(32, ge=1, le=1024)
    #: Per-channel mean and standard deviation, on pixels scaled to 0 to 1, in ``channels`` order.
    mean: Triple = IMAGENET_MEAN
    std: Triple = IMAGENET_STD
    #: Channel order the model expects.
    channels: Literal["rgb", "bgr"] = "rgb"
    #: Tensor layout the model expects.
    layout: Literal["nchw", "nhwc"] = "nchw"
    #: ``logits`` get a softmax; ``probabilities`` are used as they are.
    output: Literal["logits", "probabilities"] = "logits"
    #: Labels and scores reported per crop, best first; ``null`` for all, in label order.
    top_k: int | None = Field(5, ge=1)
    #: Whether this stage's classification is the final word; default: not for a filter
    #: (a stage with ``keep``), yes otherwise.
    terminal: bool | None = None
    #: Name of the model output holding each crop's feature vector (an embedding), sent with
    #: the classification as its ``features``; the scores are then the model's first other
    #: output. Without it the scores are the first output and no vector is sent.
    features: Annotated[str, Field(min_length=1)] | None = None

    @field_validator("std")
    @classmethod
    def _no_zero_std(cls, value: Triple) -> Triple:
        if any(part <= 0 for part in value):
            raise ValueError("std values must be greater than 0")
        return value

    @property
    def is_terminal(self) -> bool:
        """Whether the classifications of this stage are final."""
        return self.keep is None if self.terminal is None else self.terminal


class PipelineSpec(SpecModel):
    """One pipeline: a detector and the classifiers that run on its detections, in order."""

    slug: Slug
    name: str
    version: int = Field(1, ge=1)
    description: str | None = None
    detector: DetectorSpec
    classifiers: list[ClassifierSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _unique_keys(self) -> PipelineSpec:
        keys = [key for key in self.stage_keys() if key is not None]
        if len(set(keys)) != len(keys):
            raise ValueError("stage keys must differ from each other")
        return self

    def stage_keys(self) -> list[str]:
        """The algorithm key of every stage, detector first; defaults derive from the slug."""
        keys = [self.detector.key or f"{self.slug}-detector"]
        for number, stage in enumerate(self.classifiers, start=1):
            keys.append(stage.key or f"{self.slug}-classifier-{number}")
        return keys


class SpecFile(SpecModel):
    """The top level of a spec file."""

    pipelines: list[PipelineSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_slugs(self) -> SpecFile:
        slugs = [pipeline.slug for pipeline in self.pipelines]
        repeated = sorted({slug for slug in slugs if slugs.count(slug) > 1})
        if repeated:
            raise ValueError(f"pipeline slugs must differ (repeated: {', '.join(repeated)})")
        return self


def load_spec_file(path: Path) -> list[PipelineSpec]:
    """The pipelines described in the YAML file at ``path``.

    Raises:
        InvalidInput: the file cannot be read, is not YAML, or does not match the format; the
            message names the file and the field.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"pipeline file {path}: cannot be read ({exc.strerror})") from exc
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise InvalidInput(f"pipeline file {path}: not valid YAML: {exc}") from exc
    try:
        spec = SpecFile.model_validate(document, context={"base_dir": path.parent})
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise InvalidInput(f"pipeline file {path}: {problems}") from exc
    return spec.pipelines


def read_label_data(path: Path) -> tuple[list[str], list[dict[str, Any]] | None]:
    """Labels and their data from a labels file; data only from a JSON list of objects."""
    if path.suffix.lower() == ".json":
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            document = None  # read_labels says what is wrong
        if isinstance(document, list) and document and all(isinstance(d, dict) for d in document):
            if not all(isinstance(d.get("label"), str) for d in document):
                raise ValueError(f'labels file {path}: every object needs a "label" string')
            return [d["label"] for d in document], [
                {k: v for k, v in d.items() if k not in ("label", "index")} for d in document
            ]
    return read_labels(path), None


def read_labels(path: Path) -> list[str]:
    """Labels from a text file (one per line), a JSON list, or a JSON object label → index."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ValueError(f"labels file {path} cannot be read: {exc}") from exc
    if path.suffix.lower() != ".json":
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"labels file {path} is not valid JSON: {exc}") from exc
    if isinstance(document, list) and all(isinstance(label, str) for label in document):
        return document
    if isinstance(document, dict) and all(isinstance(index, int) for index in document.values()):
        by_index = sorted(document.items(), key=lambda item: item[1])
        if [index for _, index in by_index] != list(range(len(by_index))):
            raise ValueError(f"labels file {path}: the indices must be 0, 1, 2… without gaps")
        return [label for label, _ in by_index]
    raise ValueError(f"labels file {path} must hold a list of labels or an object label → index")


def _resolve(location: str, info: ValidationInfo) -> Path:
    path = Path(location).expanduser()
    base = (info.context or {}).get("base_dir")
    return path if path.is_absolute() or base is None else Path(base) / path


def _problem(error: Any) -> str:
    """One validation error as ``pipelines[0].detector.labels: message (got …)``."""
    where = ""
    for part in error["loc"]:
        where += f"[{part}]" if isinstance(part, int) else f".{part}" if where else str(part)
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] not in ("missing", "value_error") and not isinstance(error.get("input"), dict):
        message += f" (got {error['input']!r})"
    return f"{where}: {message}" if where else message
