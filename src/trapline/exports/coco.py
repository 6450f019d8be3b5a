"""COCO in its COCO Camera Traps form: images (with their location, time and place in their
event's sequence), annotations with pixel boxes and scores, categories; for training and
evaluation tools (pycocotools) and MegaDetector's own (which check it with
``integrity_check_json_db``)."""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from typing import IO, Any, BinaryIO

from trapline import __version__
from trapline.domain.exports.exports import ExportFormat
from trapline.exports.base import NO_DEPLOYMENT, ExportWriter, capture_iso, iso, json_bytes
from trapline.exports.determination import as_json
from trapline.exports.megadetector import UNNAMED_CATEGORY
from trapline.exports.reader import Detection, ExportContext, ImageResult

#: Bytes copied at a time when the annotations are appended.
_CHUNK = 1024 * 1024


#: Smallest side of a box written, in pixels: a box a pipeline gave has a size.
_MIN_PIXELS = 0.001


class CocoWriter(ExportWriter):
    """``images`` go straight to the file and ``annotations`` to a second temporary file,
    appended at the end with the categories, so neither list is held in memory."""

    format = ExportFormat.COCO

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._annotations = tempfile.TemporaryFile(prefix="trapline-coco-")  # noqa: SIM115
        self.categories: dict[str, int] = {}
        self._first_image = True
        self._first_annotation = True
        self._next_id = 1
        head = {
            "info": {
                "description": f"trapline export of project {context.project.name}",
                "version": __version__,
                "date_created": iso(context.created_at),
                "contributor": "trapline",
            },
            "licenses": [],
        }
        out.write(json_bytes(head)[:-1] + b',\n"images": [')

    def write(self, batch: Iterable[ImageResult]) -> None:
        images, annotations = [], []
        for result in batch:
            self.tally.seen(result)
            image = result.image
            key = str(image.id)  # COCO Camera Traps' ids are text
            entry: dict[str, Any] = {
                "id": key,
                "file_name": self.relative_path(image),
                "width": image.width,
                "height": image.height,
                "location": str(image.deployment_id or NO_DEPLOYMENT),
            }
            if image.captured_at is not None:
                entry["datetime"] = entry["date_captured"] = capture_iso(image)
            if result.event is not None:
                entry["seq_id"] = str(result.event.id)
                if result.frame is not None:
                    entry["frame_num"], entry["seq_num_frames"] = result.frame
            images.append(json_bytes(entry))
            annotations += [
                json_bytes(self._annotation(d, key, image.width, image.height))
                for d in result.detections
                if d.box
            ]
        self._add(self.out, images, first=self._first_image)
        self._add(self._annotations, annotations, first=self._first_annotation)
        self._first_image = self._first_image and not images
        self._first_annotation = self._first_annotation and not annotations
        self.tally.detections += len(annotations)
        self.tally.rows += len(annotations)

    def _annotation(self, d: Detection, image_id: str, width: int, height: int) -> dict[str, Any]:
        """A detection with a box (COCO has no place for image-level labels); its category is
        the taxon a person determined its occurrence as, else its label."""
        assert d.box is not None
        said = d.determined
        name = said.taxon if said else d.label or d.category or UNNAMED_CATEGORY
        category = self.categories.setdefault(name, len(self.categories) + 1)
        bbox, area = coco_box(d.box, width, height)
        annotation: dict[str, Any] = {
            "id": str(self._next_id),
            "image_id": image_id,
            "category_id": category,
            "bbox": bbox,
            "area": area,
            "iscrowd": 0,
            "score": round(d.confidence, 6) if d.confidence is not None else 1.0,
        }
        if d.review_id is None:
            annotation["trapline_annotation_id"] = d.annotation_id
        else:  # a box a person drew
            annotation["trapline_review_id"] = d.review_id
        if d.occurrence_id is not None:
            annotation["trapline_occurrence_id"] = d.occurrence_id
        if d.determination is not None:
            annotation["trapline_determination"] = as_json(d.determination)
        if d.rle is not None:
            annotation["segmentation"] = d.rle
        self._next_id += 1
        return annotation

    @staticmethod
    def _add(file: IO[bytes], entries: list[bytes], *, first: bool) -> None:
        """Append entries to a JSON list, one a line."""
        if entries:
            file.write(b"\n" if first else b",\n")
            file.write(b",\n".join(entries))

    def close(self) -> None:
        self.out.write(b'\n],\n"annotations": [')
        self._annotations.seek(0)
        while chunk := self._annotations.read(_CHUNK):
            self.out.write(chunk)
        self._annotations.close()
        categories = [
            {"id": i, "name": name, "supercategory": "object"}
            for name, i in self.categories.items()
        ]
        self.out.write(b'\n],\n"categories": ' + json_bytes(categories) + b"}")


def coco_box(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[list[float], float]:
    """A pixel box (x1, y1, x2, y2) as COCO writes it, x, y, width and height to 3 decimals,
    each side at least ``_MIN_PIXELS`` and the box within the image; and its area."""
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    bw, bh = max(round(w, 3), _MIN_PIXELS), max(round(h, 3), _MIN_PIXELS)
    x, y = min(round(x1, 3), round(width - bw, 3)), min(round(y1, 3), round(height - bh, 3))
    return [x, y, bw, bh], round(w * h, 3) or round(bw * bh, 6)
