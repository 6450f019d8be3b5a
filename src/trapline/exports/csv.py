"""CSV: one row per detection, for spreadsheets, R and pandas."""

from __future__ import annotations

import csv
import io
from typing import BinaryIO

from trapline.domain.exports import ExportFormat
from trapline.exports.base import ExportWriter, capture_time, iso
from trapline.exports.reader import Detection, ExportContext, ImageResult, ImageState

#: The columns, in order (docs/exports.md says where each comes from).
COLUMNS = (
    "image_id", "file_name", "sha256", "deployment_id", "deployment", "captured_at",
    "image_width", "image_height", "status", "detection_id", "x_min", "y_min", "x_max", "y_max",
    "label", "label_confidence", "detection_confidence", "category", "classification_method",
    "pipeline", "pipeline_version", "detector", "classifier", "reviewer", "reviewed_at",
)  # fmt: skip

#: First characters that make a spreadsheet read a cell as a formula.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def cell(text: str | None) -> str:
    """Text a spreadsheet shows as text: a leading formula character gets a quote before it."""
    if not text:
        return ""
    return "'" + text if text.startswith(_FORMULA) else text


def number(value: float | None) -> str:
    """A number as the shortest text that reads back the same (6 decimals at most)."""
    if value is None:
        return ""
    return f"{round(value, 6):g}" if abs(value) < 1e15 else str(value)


class CsvWriter(ExportWriter):
    """UTF-8 (with a byte-order mark, so spreadsheets read it as UTF-8), a header row, then a
    row per detection; with ``include_empty``, a row for each image without detections."""

    format = ExportFormat.CSV

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=False)
        self._csv = csv.writer(self._text)
        self._csv.writerow(COLUMNS)

    def write(self, batch: list[ImageResult]) -> None:
        include_empty = self.context.filters.include_empty
        for result in batch:
            self.tally.seen(result)
            if result.detections:
                for d in result.detections:
                    self._csv.writerow(self._row(result, d))
                    self.tally.detections += 1
                    self.tally.rows += 1
            elif include_empty:
                self._csv.writerow(self._row(result, None))
                self.tally.rows += 1

    def close(self) -> None:
        self._text.flush()
        self._text.detach()  # the caller closes the file itself

    def _row(self, result: ImageResult, d: Detection | None) -> list[str]:
        image = result.image
        deployment = self.context.deployments.get(image.deployment_id or 0)
        status = {
            ImageState.PROCESSED: "detection" if d else "empty",
            ImageState.FAILED: "failed",
            ImageState.UNPROCESSED: "unprocessed",
        }[result.state]
        row = [
            str(image.id), cell(image.filename), image.sha256,
            str(image.deployment_id or ""), cell(deployment.name if deployment else ""),
            iso(capture_time(image)), str(image.width), str(image.height), status,
        ]  # fmt: skip
        if d is None:
            return row + [""] * (len(COLUMNS) - len(row))
        box = d.box or (None, None, None, None)
        human = d.human
        return [
            *row,
            str(d.annotation_id), *(number(v) for v in box), cell(d.label),
            number(d.label_confidence), number(d.confidence), cell(d.category),
            "human" if human else "machine",
            cell(d.pipeline.slug) if d.pipeline else "",
            str(d.pipeline.version) if d.pipeline else "",
            cell(d.detector.key) if d.detector else "",
            cell(d.classifier.key) if d.classifier else "",
            cell(human.reviewer) if human else "", iso(human.reviewed_at) if human else "",
        ]  # fmt: skip
