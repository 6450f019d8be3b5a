"""Ground truth: the boxes a person drew on each photo, read from COCO or MegaDetector JSON.

Both formats name photos by file name. A box is either an object the detector should find
(any category not named as a non-object) or a region that is explicitly *not* one (a fastener,
a scale bar, a printed label): those are kept apart so that a report can say how many false
detections fell on them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trapline.errors import InvalidInput

#: Category names (compared without case) of regions that are not objects to be found.
NOT_OBJECT_NAMES = frozenset({"not an insect", "not-insect", "not_insect", "background"})
#: Largest ground-truth file read, in bytes.
MAX_TRUTH_BYTES = 64 * 1024 * 1024

Rect = tuple[float, float, float, float]


@dataclass(frozen=True)
class TruthBox:
    """One drawn box in pixels (x1, y1, x2, y2), its category name and whether it is an object."""

    rect: Rect
    category: str
    is_object: bool = True


@dataclass
class TruthImage:
    """The drawn boxes of one photo, named by its file name (a path relative to the folder)."""

    file_name: str
    boxes: list[TruthBox] = field(default_factory=list)

    @property
    def objects(self) -> list[Rect]:
        """The boxes of things to be found."""
        return [box.rect for box in self.boxes if box.is_object]

    @property
    def not_objects(self) -> list[Rect]:
        """The boxes of regions that are explicitly not things to be found."""
        return [box.rect for box in self.boxes if not box.is_object]


def load_truth(path: Path) -> list[TruthImage]:
    """The photos and boxes of a COCO or MegaDetector (batch output) JSON file.

    MegaDetector boxes are fractions of the image, so its photos must be opened for their size;
    that happens later, in ``scale_normalised``. Every detection in a MegaDetector file counts
    as truth whatever its ``conf``.

    Raises:
        InvalidInput: the file is missing, too large, not JSON, or in neither format.
    """
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise InvalidInput(f"cannot read ground truth {path}: {exc.strerror}") from exc
    if size > MAX_TRUTH_BYTES:
        raise InvalidInput(f"ground truth {path} is {size} bytes; the limit is {MAX_TRUTH_BYTES}")
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInput(f"ground truth {path} is not JSON: {exc}") from exc
    if not isinstance(document, dict) or not isinstance(document.get("images"), list):
        raise InvalidInput(f"ground truth {path} has no 'images' list (COCO or MegaDetector)")
    try:
        if "annotations" in document:
            return _coco(document)
        return _megadetector(document)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidInput(f"ground truth {path} is malformed: {exc!r}") from exc


def _is_object(name: str) -> bool:
    return name.strip().lower() not in NOT_OBJECT_NAMES


def _coco(document: Mapping[str, Any]) -> list[TruthImage]:
    names = {int(c["id"]): str(c["name"]) for c in document.get("categories", [])}
    images: dict[int, TruthImage] = {}
    for entry in document["images"]:
        images[int(entry["id"])] = TruthImage(file_name=str(entry["file_name"]))
    for annotation in document["annotations"]:
        x, y, w, h = (float(value) for value in annotation["bbox"])
        name = names.get(int(annotation.get("category_id", 0)), "object")
        images[int(annotation["image_id"])].boxes.append(
            TruthBox((x, y, x + w, y + h), name, _is_object(name))
        )
    return list(images.values())


#: Marks MegaDetector boxes (fractions of the image) until the image's size is known.
_NORMALISED = "normalised:"


def _megadetector(document: Mapping[str, Any]) -> list[TruthImage]:
    names = {str(k): str(v) for k, v in document.get("detection_categories", {}).items()}
    images = []
    for entry in document["images"]:
        image = TruthImage(file_name=str(entry["file"]))
        for found in entry.get("detections") or []:
            x, y, w, h = (float(value) for value in found["bbox"])
            name = names.get(str(found["category"]), str(found["category"]))
            image.boxes.append(TruthBox((x, y, x + w, y + h), _NORMALISED + name, _is_object(name)))
        images.append(image)
    return images


def scale_normalised(image: TruthImage, size: tuple[int, int]) -> TruthImage:
    """``image`` with MegaDetector's fractional boxes turned into pixels of a photo of ``size``."""
    width, height = size
    boxes = []
    for box in image.boxes:
        if box.category.startswith(_NORMALISED):
            x1, y1, x2, y2 = box.rect
            rect = (x1 * width, y1 * height, x2 * width, y2 * height)
            box = TruthBox(rect, box.category.removeprefix(_NORMALISED), box.is_object)
        boxes.append(box)
    return TruthImage(image.file_name, boxes)
