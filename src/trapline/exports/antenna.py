"""Occurrences as Antenna (the Automated Monitoring of Insects platform) exports them: the
columns of its ``occurrences_simple_csv``, in its order, as CSV and as JSON.

One row per occurrence of the exported images' events, those that name no taxon too (their
label stands for the determination's name). docs/exports.md says which columns trapline has
no equivalent for and what each holds.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any, BinaryIO

from trapline.domain.exports.exports import ExportFormat
from trapline.domain.exports.facts import BestDetectionFacts, OccurrenceFacts
from trapline.exports.base import CsvFile, json_bytes
from trapline.exports.occurrences import OccurrenceWriter, crop_path, photo_path
from trapline.exports.reader import ExportContext, ImageResult

#: Antenna's ``occurrences_simple_csv`` columns, in its order.
COLUMNS = (
    "id", "event_id", "event_name", "deployment_id", "deployment_name", "project_id",
    "project_name", "determination_id", "determination_name", "determination_score",
    "verification_status", "best_machine_prediction_name", "best_machine_prediction_algorithm",
    "best_machine_prediction_score", "verified_by", "participant_count", "agreed_with_algorithm",
    "agreed_with_user", "determination_matches_machine_prediction", "detections_count",
    "first_appearance_timestamp", "last_appearance_timestamp", "duration",
    "best_detection_url", "best_detection_bbox", "best_detection_width",
    "best_detection_height", "best_detection_capture_url",
)  # fmt: skip
#: The columns of numbers, written as they are in the CSV; every other cell is text, escaped
#: (``cells.py``).
NUMBERS = (
    "id", "event_id", "deployment_id", "project_id", "determination_id", "determination_score",
    "best_machine_prediction_score", "participant_count", "detections_count",
    "best_detection_width", "best_detection_height",
)  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class AntennaRows(OccurrenceWriter):
    """An occurrence as Antenna's record of it: each column's value, typed, in order (times
    as ISO 8601 text with their offsets)."""

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        #: Antenna's name of each event written, by id.
        self._event_names: dict[int, str] = {}

    def record(self, o: OccurrenceFacts, result: ImageResult) -> tuple[Any, ...]:
        """The occurrence's values, in ``COLUMNS`` order."""
        context = self.context
        deployment = context.deployments.get(o.deployment_id)
        terms = self.terms(o.taxon_id) if o.taxon_id is not None else None
        said = result.determinations.identified.get(o.id) if o.determined_by == "person" else None
        agreed = said is not None and said.agreed_with == "model"
        best = result.determinations.best.get(o.id)
        algorithm = context.algorithms.get(best.algorithm_id or 0) if best else None
        return (
            o.id, o.event_id, self._event_name(result), o.deployment_id,
            deployment.name if deployment else None, context.project.id, context.project.name,
            o.taxon_id, terms.scientific_name if terms else o.label, o.score,
            o.determined_by == "person", self._predicted(result, best),
            algorithm.name if algorithm else None, best.score if best else None,
            said.person if said else None, (said.participants or 1) if said else 0,
            (algorithm.name if algorithm else o.pipeline) if agreed else None,
            said.agreed_with_email if said else None, self._matches(o, result, best),
            o.detection_count, _stamp(o.first_seen_at, o.first_offset_minutes),
            _stamp(o.last_seen_at, o.last_offset_minutes), _duration(o), *self._best(best),
        )  # fmt: skip

    def _predicted(self, result: ImageResult, best: BestDetectionFacts | None) -> str | None:
        """What the model named the occurrence's best detection: the name of the taxon its
        label names, else the label."""
        predicted = self.terms(_model_taxon(result, best))
        return predicted.scientific_name if predicted else best.label if best else None

    def _matches(
        self, o: OccurrenceFacts, result: ImageResult, best: BestDetectionFacts | None
    ) -> bool | None:
        """Whether the occurrence's taxon is the one the model named (None: either is none)."""
        model_taxon = _model_taxon(result, best)
        if o.taxon_id is None or model_taxon is None:
            return None
        return o.taxon_id == model_taxon

    def _best(self, best: BestDetectionFacts | None) -> tuple[Any, ...]:
        if best is None:
            return (None,) * 5
        x1, y1, x2, y2 = round(best.x1, 6), round(best.y1, 6), round(best.x2, 6), round(best.y2, 6)
        return (
            self.link(crop_path(best.annotation_id)), [x1, y1, x2, y2], round(x2 - x1, 6),
            round(y2 - y1, 6), self.link(photo_path(best.image_id)),
        )  # fmt: skip

    def _event_name(self, result: ImageResult) -> str | None:
        event = result.event
        if event is None:
            return None
        name = self._event_names.get(event.id)
        if name is None:
            name = self._event_names[event.id] = event_name(event.starts_at, event.ends_at)
        return name


class OccurrencesCsvWriter(AntennaRows):
    """UTF-8 without a byte-order mark, as Antenna writes it: values as Python's ``str``
    writes them (``True``, ``[x1, y1, x2, y2]``, ``0:04:00``), times with a space between
    date and time, empty for none."""

    format = ExportFormat.OCCURRENCES_CSV

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._table = CsvFile(out, COLUMNS, numbers=NUMBERS)

    def occurrence(self, o: OccurrenceFacts, result: ImageResult) -> bool:
        row = ["" if v is None else str(v) for v in self.record(o, result)]
        for i in _TIMES_AT:
            row[i] = row[i].replace("T", " ", 1)
        self._table.add(row)
        return True

    def flush(self) -> None:
        self._table.flush()

    def finish(self) -> None:
        self.flush()


class OccurrencesJsonWriter(AntennaRows):
    """A JSON array of objects keyed by the same columns: numbers, booleans and null as
    such, times and durations in ISO 8601."""

    format = ExportFormat.OCCURRENCES_JSON

    def __init__(self, out: BinaryIO, context: ExportContext) -> None:
        super().__init__(out, context)
        self._parts: list[bytes] = []
        self._first = True
        out.write(b"[")

    def occurrence(self, o: OccurrenceFacts, result: ImageResult) -> bool:
        values = dict(zip(COLUMNS, self.record(o, result), strict=True))
        span = values["duration"]
        values["duration"] = _iso_duration(span) if span is not None else None
        self._parts.append(json_bytes(values))
        return True

    def flush(self) -> None:
        if self._parts:
            self.out.write((b"" if self._first else b",\n") + b",\n".join(self._parts))
            self._first = False
            self._parts.clear()

    def finish(self) -> None:
        self.flush()
        self.out.write(b"]\n")


#: Where the columns of times are (written with a space in the CSV).
_TIMES_AT = (
    COLUMNS.index("first_appearance_timestamp"),
    COLUMNS.index("last_appearance_timestamp"),
)


def _stamp(moment: datetime | None, offset_minutes: int) -> str | None:
    """A wall-clock time with its offset as ISO 8601 (``+00:00`` for UTC, as ``str`` of an
    aware time writes it)."""
    if moment is None:
        return None
    return moment.isoformat(timespec="seconds") + _offset(offset_minutes)


@lru_cache(maxsize=128)
def _offset(minutes: int) -> str:
    sign = "-" if minutes < 0 else "+"
    hours, rest = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{rest:02d}"


def _duration(o: OccurrenceFacts) -> timedelta | None:
    """How long the occurrence was seen: from its first photo to its last, in real time (the
    two instants' distance: around a clock change the later photo can name the earlier one)."""
    if o.first_seen_at is None or o.last_seen_at is None:
        return None
    shift = timedelta(minutes=o.last_offset_minutes - o.first_offset_minutes)
    return abs(o.last_seen_at - o.first_seen_at - shift)


def _iso_duration(span: timedelta) -> str:
    """A duration as Django's JSON encoder writes one (``P0DT00H04M00S``)."""
    minutes, seconds = divmod(int(span.total_seconds()), 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    return f"P{days}DT{hours:02d}H{minutes:02d}M{seconds:02d}S"


def event_name(starts_at: datetime, ends_at: datetime) -> str:
    """An event as Antenna names one: the weekday and date of its start, and the end's day
    when it ends on another (``Saturday, Jun 1-2 2024``)."""
    label = f"{_MONTHS[starts_at.month - 1]} {starts_at.day}"
    if ends_at.date() != starts_at.date():
        label += f"-{ends_at.day} {ends_at.year}"
    else:
        label += f" {starts_at.year}"
    return f"{_DAYS[starts_at.weekday()]}, {label}"


def _model_taxon(result: ImageResult, best: BestDetectionFacts | None) -> int | None:
    """The taxon the label of an occurrence's best detection names."""
    if best is None or not best.label:
        return None
    return result.determinations.label_taxa.get(best.label)
