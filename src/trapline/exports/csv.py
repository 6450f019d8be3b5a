"""CSV: one row per detection, for spreadsheets, R and pandas."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import BinaryIO

from trapline.domain.exports.exports import ExportFormat
from trapline.exports.base import CsvFile, ExportWriter, capture_iso, iso
from trapline.exports.reader import Detection, ExportContext, ImageResult, ImageState

#: The columns, in order (docs/exports.md says where each comes from).
COLUMNS = (
    "image_id", "file_name", "sha256", "deployment_id", "deployment", "captured_at",
    "image_width", "image_height", "status", "detection_id", "x_min", "y_min", "x_max", "y_max",
    "label", "label_confidence", "detection_confidence", "category", "classification_method",
    "pipeline", "pipeline_version", "detector", "classifier", "reviewer", "reviewed_at",
    "event_id", "occurrence_id", "determined_by", "identified_taxon", "occurrence_taxon",
    "occurrence_label", "determination_method", "no_object",
)  # fmt: skip
#: The columns of numbers, written as they are; every other cell is text, escaped
#: (``cells.py``).
NUMBERS = (
    "image_id", "deployment_id", "image_width", "image_height", "x_min", "y_min", "x_max",
    "y_max", "label_confidence", "detection_confidence", "pipeline_version", "event_id",
    "occurrence_id",
)  # fmt: skip


def number(value: float | None) -> str:
    """A number with 6 decimals at most, as the shortest text that reads back the same: what
    ``repr(round(value, 6))`` writes.

    Between 0.0001 and a billion that is the value with 6 decimals, its trailing zeros
    dropped but one: half the time of rounding and then ``repr`` (six numbers a row).
    """
    if value is None:
        return ""
    if 1e-4 <= abs(value) < 1e9:
        text = f"{value:.6f}".rstrip("0")
        return text + "0" if text[-1] == "." else text
    return repr(round(value, 6))


class CsvWriter(ExportWriter):
    """UTF-8 (with a byte-order mark, so spreadsheets read it as UTF-8), a header row, then a
    row per detection; with ``include_empty``, a row for each image without detections."""

    format = ExportFormat.CSV

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._file = CsvFile(out, COLUMNS, numbers=NUMBERS, bom=True)

    def write(self, batch: Iterable[ImageResult]) -> None:
        for row in self._rows(batch):
            self._file.add(row)
        self._file.flush()

    def _rows(self, batch: Iterable[ImageResult]) -> Iterator[list[str]]:
        """The rows of a batch, counted as they go."""
        include_empty = self.context.filters.include_empty
        tally = self.tally
        for result in batch:
            tally.seen(result)
            event = str(result.event.id) if result.event else ""
            if result.detections:
                head = self._image(result, "detection")
                for d in result.detections:
                    said, made = d.determined, d.determination
                    yield [
                        *head, *self._detection(d), event, str(d.occurrence_id or ""),
                        said.person if said else "", said.taxon if said else "",
                        *((made.taxon or "", made.label or "", made.method) if made else _NONE),
                        "true" if d.no_object else "false",
                    ]  # fmt: skip
                tally.detections += len(result.detections)
                tally.rows += len(result.detections)
            elif include_empty:
                image = self._image(result, _EMPTY[result.state])
                yield [*image, *_NO_DETECTION, event, *_NO_OCCURRENCE]
                tally.rows += 1

    def close(self) -> None:
        self._file.flush()  # the header of an export without images

    def _image(self, result: ImageResult, status: str) -> list[str]:
        """The columns about the image, the same on each of its rows."""
        image = result.image
        deployment = self.context.deployments.get(image.deployment_id or 0)
        return [
            str(image.id), image.filename, image.sha256,
            str(image.deployment_id or ""), deployment.name if deployment else "",
            capture_iso(image), str(image.width), str(image.height), status,
        ]  # fmt: skip

    def _detection(self, d: Detection) -> list[str]:
        """The columns about one detection."""
        box = d.box or _NO_BOX
        human, pipeline = d.human, d.pipeline
        return [
            d.key, number(box[0]), number(box[1]), number(box[2]), number(box[3]),
            d.label or "", number(d.label_confidence), number(d.confidence), d.category or "",
            "human" if human else "machine",
            pipeline.slug if pipeline else "", str(pipeline.version) if pipeline else "",
            d.detector.key if d.detector else "", d.classifier.key if d.classifier else "",
            human.reviewer if human else "", iso(human.reviewed_at) if human else "",
        ]  # fmt: skip


#: The status column of an image without detections.
_EMPTY = {
    ImageState.PROCESSED: "empty",
    ImageState.FAILED: "failed",
    ImageState.UNPROCESSED: "unprocessed",
}
#: The determination columns of a detection in no occurrence.
_NONE = ("", "", "")
#: The detection columns of an image without detections (all but the image's nine and the
#: event, occurrence, determinations and no-object mark at the end).
_NO_DETECTION = [""] * (len(COLUMNS) - 17)
#: The occurrence, determination and no-object columns of an image without detections.
_NO_OCCURRENCE = ("", "", "", *_NONE, "")
_NO_BOX = (None, None, None, None)
