"""Wire models of the callback API (docs/callback-api.md): the single source of its JSON.

Bodies are checked here before any service runs; the annotation items of a bulk post are
checked one by one (``read_annotation``) so a bad item is named by its index.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints, TypeAdapter, ValidationError, model_validator

from trapline.domain.callbacks.callbacks import ArtifactType
from trapline.protocol.base import (
    FREE_TEXT,
    MAX_NAME,
    MAX_URI,
    NOT_TEXT,
    ONE_LINE,
    Finite,
    JsonKey,
    JsonValue,
    WireModel,
    describe_problem,
)

INT32_MAX = 2**31 - 1
#: Most top-k entries of a classification and keypoints of a keypoint annotation.
MAX_TOPK = 1000
MAX_KEYPOINTS = 1000
MAX_SKELETON = 10_000
#: Longest RLE counts (characters of the string, or run lengths of the list): ample for a 4K
#: mask of any real outline, and read in well under a second when it is checked.
MAX_RLE = 1_000_000
#: Largest width or height an annotation may name, in pixels.
MAX_SIDE = 1_000_000

Name = Annotated[str, StringConstraints(min_length=1, max_length=MAX_NAME, pattern=ONE_LINE)]
OptionalName = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=ONE_LINE)]
Message = Annotated[str, StringConstraints(max_length=10_000, pattern=FREE_TEXT)]
StoragePath = Annotated[str, StringConstraints(min_length=1, max_length=MAX_URI, pattern=ONE_LINE)]
Probability = Annotated[Finite, Field(ge=0.0, le=1.0)]
Side = Annotated[int, Field(ge=1, le=MAX_SIDE), NOT_TEXT]
Ordering = Annotated[int, Field(ge=0, le=INT32_MAX), NOT_TEXT]
JsonObject = Annotated[dict[JsonKey, JsonValue], Field(max_length=10_000)]


# Requests


class AnalysisIn(WireModel):
    """``POST /api/images/{image_id}/analyses``."""

    #: Optional: the path names the image; when given it must be the same (it is only
    #: compared, never looked up, so it needs no upper bound).
    image_id: Annotated[int, Field(ge=1), NOT_TEXT] | None = None
    model_name: Name
    model_version: OptionalName = ""
    parameters: JsonObject = Field(default_factory=dict)
    provenance: JsonObject = Field(default_factory=dict)


class StatusIn(WireModel):
    """``PATCH /api/analyses/{id}/status``."""

    status: Literal["queued", "processing", "completed", "failed"]
    error_message: Message | None = None


class PresignIn(WireModel):
    """``POST /api/analyses/{id}/artifacts/presign``."""

    artifact_type: ArtifactType
    filename: Name


class BulkIn(WireModel):
    """``POST /api/analyses/{id}/annotations:bulk``; items are read one by one."""

    annotations: list[Any]
    mode: Literal["append", "replace"] = "append"


class FinalizeIn(WireModel):
    """``POST /api/analyses/{id}/finalize``."""

    status: Literal["completed", "failed"]
    error_message: Message | None = None

    @model_validator(mode="after")
    def _failure_says_why(self) -> FinalizeIn:
        if self.status == "completed" and self.error_message:
            raise ValueError("error_message goes only with status failed")
        return self


class SecretIn(WireModel):
    """``POST /api/v2/projects/{id}/callback-secrets``."""

    name: Name


# Annotation items


class BoundingBoxData(WireModel):
    x_min: Finite
    y_min: Finite
    x_max: Finite
    y_max: Finite
    image_width: Side
    image_height: Side


class TopK(WireModel):
    class_: Name = Field(alias="class")
    confidence: Probability


class ClassificationData(WireModel):
    topk: list[TopK] | None = Field(None, min_length=1, max_length=MAX_TOPK)
    score: Probability | None = None

    @model_validator(mode="after")
    def _something(self) -> ClassificationData:
        if self.topk is None and self.score is None:
            raise ValueError("a classification needs topk: [{class, confidence}] or score")
        return self


class HeatmapData(WireModel):
    width: Side
    height: Side
    color_map: Name


class SegmentationData(WireModel):
    format: Literal["rle"]
    counts: (
        Annotated[str, StringConstraints(min_length=1, max_length=MAX_RLE, pattern=ONE_LINE)]
        # Strict in the parser itself (no per-item call): text, booleans and 3.0 are refused.
        | Annotated[
            list[Annotated[int, Field(ge=0, le=2**40, strict=True)]], Field(max_length=MAX_RLE)
        ]
    )
    bbox: Annotated[list[Annotated[Finite, Field(ge=0)]], Field(min_length=4, max_length=4)]
    area: Annotated[Finite, Field(ge=0)]
    #: COCO's ``[height, width]`` of the image the mask covers (optional).
    size: Annotated[list[Side], Field(min_length=2, max_length=2)] | None = None


class MaskData(WireModel):
    width: Side
    height: Side


class Keypoint(WireModel):
    name: Name
    x: Finite
    y: Finite
    confidence: Probability | None = None


class KeypointData(WireModel):
    keypoints: list[Keypoint] = Field(min_length=1, max_length=MAX_KEYPOINTS)
    skeleton: list[tuple[Ordering, Ordering]] = Field(default_factory=list, max_length=MAX_SKELETON)

    @model_validator(mode="after")
    def _edges_name_keypoints(self) -> KeypointData:
        count = len(self.keypoints)
        for n, (i, j) in enumerate(self.skeleton):
            if i >= count or j >= count:
                raise ValueError(
                    f"skeleton[{n}] joins keypoints {i} and {j}, but there are {count} keypoints "
                    f"(0 to {count - 1})"
                )
        return self


class _Item(WireModel):
    class_name: OptionalName | None = None
    confidence: Probability | None = None
    ordering: Ordering | None = None
    storage_path: StoragePath | None = None


class BoundingBoxItem(_Item):
    annotation_type: Literal["bounding_box"]
    data: BoundingBoxData


class ClassificationItem(_Item):
    annotation_type: Literal["classification"]
    data: ClassificationData


class HeatmapItem(_Item):
    annotation_type: Literal["heatmap"]
    data: HeatmapData
    storage_path: StoragePath


class SegmentationItem(_Item):
    annotation_type: Literal["segmentation"]
    data: SegmentationData


class MaskItem(_Item):
    annotation_type: Literal["mask"]
    data: MaskData
    storage_path: StoragePath


class KeypointItem(_Item):
    annotation_type: Literal["keypoint"]
    data: KeypointData


class CustomItem(_Item):
    annotation_type: Literal["custom"]
    data: JsonObject


AnnotationItem = Annotated[
    BoundingBoxItem
    | ClassificationItem
    | HeatmapItem
    | SegmentationItem
    | MaskItem
    | KeypointItem
    | CustomItem,
    Field(discriminator="annotation_type"),
]
_ITEM: TypeAdapter[AnnotationItem] = TypeAdapter(AnnotationItem)
_TYPES = "bounding_box, classification, heatmap, segmentation, mask, keypoint, custom"


class BadItem(ValueError):
    """An annotation item that cannot be stored; the message names its index and field."""


_ITEMS: TypeAdapter[list[AnnotationItem]] = TypeAdapter(list[AnnotationItem])


def read_annotations(raw_items: list[Any]) -> list[AnnotationItem]:
    """Every item of a bulk post, checked in one pass; BadItem naming the first bad one."""
    items = [
        {**raw, "annotation_type": raw["type"]}  # the short spelling
        if isinstance(raw, dict) and "annotation_type" not in raw and "type" in raw
        else raw
        for raw in raw_items
    ]
    try:
        return _ITEMS.validate_python(items)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]["loc"]
        index = first[0] if first and isinstance(first[0], int) else 0
        read_annotation(items[index], index)  # raises BadItem for it
        raise  # pragma: no cover - the item alone passed: not expected


def read_annotation(raw: Any, index: int) -> AnnotationItem:
    """One item of a bulk post, checked; BadItem saying where the first problem is."""
    if isinstance(raw, dict) and "annotation_type" not in raw and "type" in raw:
        raw = {**raw, "annotation_type": raw["type"]}  # the short spelling
    where = f"annotations[{index}]"
    if not isinstance(raw, dict):
        raise BadItem(f"{where}: must be an object")
    kind = raw.get("annotation_type")
    if kind is None:
        raise BadItem(f"{where}.annotation_type is required (one of {_TYPES})")
    try:
        return _ITEM.validate_python(raw)
    except ValidationError as exc:
        error: dict[str, Any] = dict(exc.errors(include_url=False)[0])
        if error.get("type") == "union_tag_invalid":
            raise BadItem(
                f"{where}.annotation_type: unknown type {str(kind)[:40]!r}; use one of {_TYPES}"
            ) from None
        # The discriminator's value leads the location; the item's fields follow it.
        location = list(error.get("loc", ()))
        if location and location[0] == kind:
            location = location[1:]
        error["loc"] = tuple(location)
        raise BadItem(f"{where}.{describe_problem(error)}") from None


def item_wire(item: AnnotationItem, ordering: int) -> dict[str, Any]:
    """The item as stored and hashed: validated values only, the ordering it gets."""
    data = (
        _sorted(item.data) if isinstance(item, CustomItem) else item.data.model_dump(by_alias=True)
    )
    return {
        "annotation_type": item.annotation_type,
        "class_name": item.class_name,
        "confidence": item.confidence,
        "ordering": ordering,
        "storage_path": item.storage_path,
        "data": data,
    }


def _sorted(value: Any) -> Any:
    """Free-form JSON with every object's keys in order (typed data has a fixed order)."""
    if isinstance(value, dict):
        return {k: _sorted(value[k]) for k in sorted(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value
