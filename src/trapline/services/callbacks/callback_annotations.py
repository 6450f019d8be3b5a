"""Turning a bulk post's items into annotation drafts, each checked against its image."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from pydantic_core import to_json

from trapline.domain.callbacks.callbacks import canonical_digest
from trapline.domain.core.records import Image
from trapline.domain.processing.results import AnnotationDraft, AnnotationType, Box
from trapline.domain.processing.rle import iter_counts
from trapline.protocol.callbacks import (
    AnnotationItem,
    BadItem,
    BoundingBoxItem,
    ClassificationItem,
    KeypointItem,
    SegmentationItem,
    item_wire,
    read_annotations,
)

#: Checks a storage path: None when it names an uploaded artifact of the analysis, else why not.
PathCheck = Callable[[str], str | None]


def drafts_from_items(
    raw_items: Sequence[Any], image: Image, check_path: PathCheck
) -> list[AnnotationDraft]:
    """The drafts a bulk post's items describe, each with its digest; repeats within the
    post once. BadItem names the first bad item's index and field."""
    drafts: list[AnnotationDraft] = []
    seen: set[str] = set()
    for index, item in enumerate(read_annotations(list(raw_items))):
        where = f"annotations[{index}]"
        box = _check_geometry(item, image, where)
        if item.storage_path is not None:
            problem = check_path(item.storage_path)
            if problem is not None:
                raise BadItem(f"{where}.storage_path: {problem}")
        ordering = index if item.ordering is None else item.ordering
        wire = item_wire(item, ordering)
        digest = canonical_digest(to_json(wire, inf_nan_mode="null"))
        if digest in seen:
            continue
        seen.add(digest)
        label, confidence = _label(item)
        drafts.append(
            AnnotationDraft(
                type=AnnotationType(item.annotation_type),
                label=label,
                confidence=confidence,
                box=box,
                algorithm_id=None,
                data=wire["data"],
                storage_key=item.storage_path,
                ordering=ordering,
                digest=digest,
            )
        )
    return drafts


def _label(item: AnnotationItem) -> tuple[str | None, float | None]:
    label, confidence = item.class_name, item.confidence
    if isinstance(item, ClassificationItem):
        data = item.data
        if data.topk:
            best = max(data.topk, key=lambda t: t.confidence)
            label = label or best.class_
            confidence = best.confidence if confidence is None else confidence
        elif confidence is None:
            confidence = data.score
    return label, confidence


def _check_geometry(item: AnnotationItem, image: Image, where: str) -> Box | None:
    """The item's box in the stored image's pixels, checked to lie inside it."""
    if isinstance(item, BoundingBoxItem):
        d = item.data
        if (d.image_width, d.image_height) != (image.width, image.height):
            raise BadItem(
                f"{where}.data.image_width: the box is given for a {d.image_width} x "
                f"{d.image_height} image but image {image.id} is {image.width} x {image.height}; "
                "send pixel coordinates of the stored image"
            )
        for field, low, value, high in (
            ("x_min", 0.0, d.x_min, d.x_max),
            ("y_min", 0.0, d.y_min, d.y_max),
        ):
            if not low <= value < high:
                raise BadItem(
                    f"{where}.data.{field}: {value} must be at least 0 and below its max ({high})"
                )
        if d.x_max > d.image_width:
            raise BadItem(f"{where}.data.x_max: {d.x_max} is outside the image ({d.image_width})")
        if d.y_max > d.image_height:
            raise BadItem(f"{where}.data.y_max: {d.y_max} is outside the image ({d.image_height})")
        return Box(d.x_min, d.y_min, d.x_max, d.y_max)
    if isinstance(item, SegmentationItem):
        s = item.data
        x, y, w, h = s.bbox
        if x + w > image.width or y + h > image.height:
            raise BadItem(
                f"{where}.data.bbox: [{x}, {y}, {w}, {h}] reaches outside the "
                f"{image.width} x {image.height} image"
            )
        height, width = s.size if s.size is not None else (image.height, image.width)
        try:  # read once here, so that no page has to read a malformed one again
            covered = sum(iter_counts(s.counts))
        except ValueError as exc:
            raise BadItem(f"{where}.data.counts: {exc}") from None
        # A mask for the whole image may leave its last zeros out; one given a size may not.
        if covered > height * width or (s.size is not None and covered < height * width):
            raise BadItem(
                f"{where}.data.counts: the runs add up to {covered} pixels but the "
                f"{height} x {width} mask has {height * width}"
            )
        return Box(x, y, x + w, y + h)
    if isinstance(item, KeypointItem):
        for k, point in enumerate(item.data.keypoints):
            if not (0 <= point.x <= image.width and 0 <= point.y <= image.height):
                raise BadItem(
                    f"{where}.data.keypoints[{k}]: ({point.x}, {point.y}) is outside the "
                    f"{image.width} x {image.height} image"
                )
    return None
