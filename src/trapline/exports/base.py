"""The writer every export format implements, and what formats share."""

from __future__ import annotations

import codecs
import csv
import io
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path
from typing import IO, Any, BinaryIO, ClassVar, Self

from pydantic_core import to_json

from trapline.domain.exports.exports import ExportCounts, ExportFormat
from trapline.domain.exports.facts import ImageFacts
from trapline.exports.cells import Cells
from trapline.exports.file_names import path_part
from trapline.exports.reader import ExportContext, ImageResult, ImageState

#: Folder name of images without a deployment, in file paths.
NO_DEPLOYMENT = "no-deployment"


@dataclass
class Tally:
    """Counts a writer keeps while it writes."""

    images: int = 0
    detections: int = 0
    empty: int = 0
    unprocessed: int = 0
    failed: int = 0
    skipped: int = 0
    rows: int = 0

    def seen(self, result: ImageResult) -> None:
        """Count an image by what its analyses say."""
        self.images += 1
        if result.state is ImageState.UNPROCESSED:
            self.unprocessed += 1
        elif result.state is ImageState.FAILED:
            self.failed += 1
        elif not result.detection_count:
            self.empty += 1

    def frozen(self) -> ExportCounts:
        """The counts as a record."""
        return ExportCounts(**self.__dict__)

    def emptiness(self) -> str | None:
        """Why a file holds nothing (None when it holds something): said with the export, so
        that an empty file never passes for a plain success."""
        if self.rows:
            return None
        if not self.images:
            return "no results in the file: no image matched the export's filters"
        if self.detections:  # a format of a row per occurrence, which says why above
            return (
                f"no results in the file: {self.images:,} images matched, with "
                f"{self.detections:,} detections, none of them in a row"
            )
        why = ", ".join(
            f"{count:,} {what}"
            for count, what in (
                (self.skipped, "left out (see above)"),
                (self.unprocessed, "not processed"),
                (self.failed, "failed"),
                (self.empty, "without detections"),
            )
            if count
        )
        return f"no results in the file: {self.images:,} images matched, none with results ({why})"


@dataclass
class Part:
    """What a process wrote of an export's segment (``background/export_parts.py``): its
    counts, its problems, and the format's own state (its part files among it)."""

    tally: Tally
    problems: list[str]
    problem_count: int
    state: Any


class ExportWriter(ABC):
    """Writes one export file to ``out`` as batches of images arrive; memory stays flat."""

    format: ClassVar[ExportFormat]
    #: From how many photos segments of the export are written by other processes
    #: (``for_part``, ``close_part``) and adopted by the writer of the file (``adopt``): below,
    #: starting the processes (a second or two each) costs more than they save; None: the
    #: format is written by one process.
    parts_from: ClassVar[int | None] = None

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        self.out = out
        self.context = context
        self.tally = Tally()
        #: ``deployment_folder`` by deployment id, made at its first use.
        self._folders: dict[int, str] | None = None

    @abstractmethod
    def write(self, batch: Iterable[ImageResult]) -> None:
        """Write a batch of images with their results."""

    @abstractmethod
    def close(self) -> None:
        """Finish the file (totals, category lists, the package descriptor)."""

    def discard(self) -> None:  # noqa: B027 (most formats hold nothing of their own)
        """Let go of what an unfinished file holds (its temporary files)."""

    @classmethod
    def for_part(cls, stem: Path, context: ExportContext) -> Self:
        """A writer of one segment's rows into part files named from ``stem`` (the formats
        with a ``parts_from`` only)."""
        raise NotImplementedError(f"{cls.format.value} is written by one process")

    def close_part(self) -> Part:
        """Finish a segment's part files; what the file's writer adopts."""
        raise NotImplementedError(f"{self.format.value} is written by one process")

    def adopt(self, part: Part) -> None:
        """Take a segment's part, written by another process, as if this writer had written
        its images (parts come in the order of the images): its counts, and its problems
        but for those already said."""
        for each in fields(Tally):
            name = each.name
            setattr(self.tally, name, getattr(self.tally, name) + getattr(part.tally, name))
        said = self.context.problems
        for problem in part.problems:
            if problem not in said:
                self.context.problem(problem)
        self.context.problem_count += part.problem_count - len(part.problems)

    def deployment_folder(self, image: ImageFacts) -> str:
        """The folder an image's path starts with: its deployment's (``deployment_folders``)."""
        if self._folders is None:
            deployments = self.context.deployments.values()
            self._folders = deployment_folders((d.id, d.name) for d in deployments)
        return self._folders.get(image.deployment_id or 0, NO_DEPLOYMENT)

    def relative_path(self, image: ImageFacts) -> str:
        """``deployment/file name``: where the image sits in a folder-per-deployment copy
        (the file name is ``file_names.py``'s, one photo's in its folder)."""
        name = self.context.file_names.of(image.id, image.deployment_id, image.filename)
        return f"{self.deployment_folder(image)}/{name}"


def part_file(stem: Path, table: str) -> Path:
    """A segment's part of a table (``ExportWriter.for_part``): ``<stem>-<table>``."""
    return stem.with_name(f"{stem.name}-{table}")


def json_bytes(value: Any) -> bytes:
    """Compact JSON in UTF-8, characters other than ASCII written as they are.

    pydantic-core writes it in a third of the json module's time (the JSON formats spent a
    fifth of their time there). It writes the same text but for numbers below 0.0001 or from
    10^16, spelled without an exponent (0.00005, not 5e-05), the same values to any reader.
    """
    return to_json(value)


class CsvFile:
    """A CSV file written a batch of rows at a time, as UTF-8, to a binary file, its header
    first (but in a segment's part of a table); every text cell escaped by the one rule of
    ``cells.py`` (``numbers`` names the columns written as they are).

    Rows come out exactly as ``csv.writer`` (its default, excel dialect) writes them. A row
    with no comma, quote or line break in its fields needs no quoting, so it is joined with
    commas directly, a tenth of what ``csv.writer`` takes per row (which was a third of a CSV
    export); the rare row that needs quoting goes through ``csv.writer``.
    """

    def __init__(
        self,
        out: IO[bytes],
        columns: Sequence[str],
        *,
        numbers: Collection[str] = (),
        bom: bool = False,
        header: bool = True,
    ) -> None:
        self.out = out
        self._cells = Cells(columns, numbers=numbers)
        #: Lines added since the last ``flush``, without their line endings.
        self._lines: list[str] = []
        self._quoted = io.StringIO()
        self._quoting = csv.writer(self._quoted)
        if bom:  # so spreadsheets read the file as UTF-8
            out.write(codecs.BOM_UTF8)
        if header:
            self.add(columns)

    def add(self, row: Sequence[str]) -> None:
        """Add a row of fields, in the order of the columns (written at the next ``flush``)."""
        line = ",".join(row)
        safe = self._cells.safe(row, line)
        if safe is not None:
            row, line = safe, ",".join(safe)
        # csv.writer quotes a field with a comma, a quote or a line break, and a lone empty one.
        special = '"' in line or "\n" in line or "\r" in line
        if special or line.count(",") != len(row) - 1 or not line:
            line = self._with_quotes(row)
        self._lines.append(line)

    def flush(self) -> None:
        """Write the rows added so far."""
        if self._lines:
            self._lines.append("")  # the last row's line ending
            self.out.write("\r\n".join(self._lines).encode())
            self._lines.clear()

    def _with_quotes(self, row: Sequence[str]) -> str:
        """One row as ``csv.writer`` writes it, without its line ending."""
        self._quoting.writerow(row)
        line = self._quoted.getvalue()
        self._quoted.seek(0)
        self._quoted.truncate()
        return line[:-2]


def safe_folder(name: str, deployment_id: int) -> str:
    """A deployment's name as a folder name (``path_part``)."""
    return path_part(name) or f"deployment-{deployment_id}"


def deployment_folders(named: Iterable[tuple[int, str]]) -> dict[int, str]:
    """Each deployment's folder (by id, of its name): ``safe_folder``, followed by ``-<id>``
    where two would be one folder, in any case (names need not be unique, and ``North/1`` and
    ``North_1`` are one once made safe), or the folder of photos in no deployment."""
    folders = {i: safe_folder(name, i) for i, name in named}
    taken = Counter(folder.casefold() for folder in folders.values())
    taken[NO_DEPLOYMENT] += 1
    return {i: f if taken[f.casefold()] == 1 else f"{f}-{i}" for i, f in folders.items()}


def capture_time(image: ImageFacts) -> datetime | None:
    """The capture instant: the camera's clock with the offset it is read with (the file's,
    else its deployment's zone's; stored with the image), else read as UTC."""
    if image.captured_at is None:
        return None
    offset = image.captured_offset_minutes
    return image.captured_at.replace(tzinfo=UTC if offset is None else _zone(offset))


def capture_iso(image: ImageFacts) -> str:
    """``iso(capture_time(image))``, without making the time zone-aware ("" when unknown):
    a capture time is written for every image."""
    if image.captured_at is None:
        return ""
    return wall_iso(image.captured_at, image.captured_offset_minutes)


def wall_iso(moment: datetime, offset_minutes: int | None) -> str:
    """A wall-clock time with its UTC offset, as ``capture_iso`` writes one."""
    return moment.isoformat(timespec="seconds") + _offset_text(offset_minutes)


def wall_span(
    start: datetime, start_offset: int | None, end: datetime, end_offset: int | None
) -> tuple[str, str]:
    """A span's two ends as ``wall_iso`` writes them, in the order of the instants they name:
    around a clock change a later wall-clock time can name an earlier instant (a time the
    change skips is read with the offset before it), and the span would end before it began."""
    first, last = wall_iso(start, start_offset), wall_iso(end, end_offset)
    if start - timedelta(minutes=start_offset or 0) > end - timedelta(minutes=end_offset or 0):
        return last, first
    return first, last


@lru_cache(maxsize=128)
def _offset_text(offset_minutes: int | None) -> str:
    """The end ``iso`` gives a capture time with this offset (``Z`` for UTC)."""
    zone = UTC if offset_minutes is None else _zone(offset_minutes)
    return iso(datetime(2000, 1, 1, tzinfo=zone))[len("2000-01-01T00:00:00") :]


@lru_cache(maxsize=128)
def _zone(offset_minutes: int) -> timezone:
    """The fixed zone of an offset (a project's cameras have a few)."""
    return timezone(timedelta(minutes=offset_minutes))


def iso(moment: datetime | None) -> str:
    """ISO 8601 with seconds and an offset (``Z`` for UTC; a naive time is read as UTC);
    empty for None."""
    if moment is None:
        return ""
    text = moment.isoformat(timespec="seconds")
    if moment.tzinfo is None:
        return text + "Z"
    return text.replace("+00:00", "Z")


#: Smallest side of a box written as fractions of its photo (6 decimals are written): a box a
#: pipeline gave has a size, which readers and trapline's own MegaDetector import need.
MIN_SIDE = 1e-6


def normalised(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float]:
    """A pixel box (x1, y1, x2, y2) as fractions of the image: x, y, width, height, rounded
    to 6 decimals, each side at least ``MIN_SIDE`` and the box within the image."""
    x, y, w, h = fractions(box, width, height)
    w, h = max(round(w, 6), MIN_SIDE), max(round(h, 6), MIN_SIDE)
    return min(round(x, 6), round(1 - w, 6)), min(round(y, 6), round(1 - h, 6)), w, h


def fractions(
    box: tuple[float, float, float, float], width: int, height: int
) -> tuple[float, float, float, float]:
    """A pixel box (x1, y1, x2, y2) as fractions of the image: x, y, width, height."""
    x1, y1, x2, y2 = box
    return x1 / width, y1 / height, (x2 - x1) / width, (y2 - y1) / height
