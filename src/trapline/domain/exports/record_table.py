"""A project's record table, as camtrapR's ``recordTable`` makes it (docs/analysis.md): a
record per station, species and independent sighting, with the time since the previous
record of that species at that station.

In trapline a record is an occurrence (one tracked individual) of the counting pipeline, at
its first photo; its station is its deployment and its species its determined taxon (else its
label). ``minDeltaTime`` is ``min_delta_minutes``: a sighting of a species at a station less
than that after the reference is not a record. The reference is camtrapR's
``deltaTimeComparedTo``: the previous sighting of that species there, kept or not
(``lastRecord``), or the previous record kept (``lastIndependentRecord``); a record's
``delta.time`` is the time since its reference. Sightings of a species at a station in the
same second (two individuals in one photo) are one record (camtrapR's
``removeDuplicateRecords``, on by default).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import NamedTuple


class DeltaReference(StrEnum):
    """What a sighting's time is compared with (camtrapR's ``deltaTimeComparedTo``)."""

    #: The previous sighting of the species at the station, kept or not.
    LAST_RECORD = "lastRecord"
    #: The previous record kept of the species at the station.
    LAST_INDEPENDENT_RECORD = "lastIndependentRecord"


#: The most ``min_delta_minutes`` may be: a year.
MAX_DELTA_MINUTES = 525_600


@dataclass(frozen=True)
class Independence:
    """When a sighting is a record of its own (camtrapR's ``minDeltaTime`` and
    ``deltaTimeComparedTo``)."""

    #: Minutes; 0 keeps every sighting.
    min_delta_minutes: float = 0
    compared_to: DeltaReference = DeltaReference.LAST_RECORD
    #: Sightings of a species at a station in the second of the one before are left out
    #: (camtrapR's ``removeDuplicateRecords``); with an interval they always are, as there.
    remove_duplicates: bool = True

    def __post_init__(self) -> None:
        minutes = self.min_delta_minutes
        if not 0 <= minutes <= MAX_DELTA_MINUTES:  # NaN fails too
            raise ValueError(
                f"min_delta_minutes must be from 0 to {MAX_DELTA_MINUTES} (got {minutes})"
            )

    @property
    def drops_duplicates(self) -> bool:
        """Whether a sighting in the same second as the one before is left out: camtrapR
        sets ``removeDuplicateRecords`` when ``minDeltaTime`` is not 0."""
        return self.remove_duplicates or self.min_delta_minutes > 0


class Sighting(NamedTuple):
    """An occurrence at its first photo, as read for the record table."""

    occurrence_id: int
    deployment_id: int
    #: The deployment's name (camtrapR's ``Station``).
    station: str
    #: The taxon's scientific name, else the label (camtrapR's ``Species``).
    species: str
    taxon_id: int | None
    #: The wall-clock time of its first photo, and that clock's UTC offset.
    seen_at: datetime
    offset_minutes: int
    #: The first photo: the folder it sits in (its deployment's) and its file name.
    directory: str
    file_name: str

    @property
    def instant(self) -> datetime:
        """The moment it was seen (UTC, without a zone): what time differences are of."""
        return self.seen_at - timedelta(minutes=self.offset_minutes)


class Record(NamedTuple):
    """A row of the record table: a sighting kept, and the seconds since its reference (the
    previous sighting of its species at its station, or the previous record kept, as the rule
    says; 0 for the first)."""

    sighting: Sighting
    delta_seconds: float


def records(sightings: Iterable[Sighting], rule: Independence) -> Iterator[Record]:
    """The records among ``sightings``, which come ordered by station (deployment), species
    and time, as camtrapR's ``recordTable`` makes them. Times are to the second (as a photo's
    ``DateTimeOriginal``). A sighting in the same second as the one before it is a duplicate:
    left out when the rule drops duplicates, else a record with that one's delta. Any other
    is kept when it is the first of its species at its station, or at least
    ``min_delta_minutes`` after its reference. Memory holds one group at a time."""
    least = timedelta(minutes=rule.min_delta_minutes)
    since_last = rule.compared_to is DeltaReference.LAST_RECORD
    drop = rule.drops_duplicates
    group: tuple[int, str] | None = None
    last: datetime | None = None  # the previous sighting's time, kept or not
    kept: datetime | None = None  # the previous record's time
    delta = 0.0  # the previous sighting's delta
    for s in sightings:
        key = (s.deployment_id, s.species)
        at = s.instant.replace(microsecond=0)
        if key != group:
            group, last, kept = key, None, None
        elif at == last:
            if not drop:
                yield Record(s, delta)
            continue
        reference = last if since_last else kept
        delta = (at - reference).total_seconds() if reference is not None else 0.0
        if reference is None or at - reference >= least:
            yield Record(s, delta)
            kept = at
        last = at


#: The columns of the record table, as camtrapR names them.
RECORD_COLUMNS = (
    "Station", "Species", "DateTimeOriginal", "Date", "Time",
    "delta.time.secs", "delta.time.mins", "delta.time.hours", "delta.time.days",
    "Directory", "FileName",
    # trapline's own, after camtrapR's.
    "deployment_id", "taxon_id", "occurrence_id", "utc_offset_minutes",
)  # fmt: skip
#: The columns that hold numbers.
RECORD_NUMBERS = (
    "delta.time.secs", "delta.time.mins", "delta.time.hours", "delta.time.days",
    "deployment_id", "taxon_id", "occurrence_id", "utc_offset_minutes",
)  # fmt: skip


def record_values(record: Record) -> tuple[object, ...]:
    """A record's value in each of ``RECORD_COLUMNS``: times as camtrapR writes them
    (``2024-03-01 21:30:00``), deltas in seconds, minutes, hours and days, each rounded from
    the one before as camtrapR rounds them (seconds whole, the others to 1 decimal: 1,200 s
    is 20 min, 0.3 h and 0 days)."""
    s, secs = record.sighting, round(record.delta_seconds)
    mins = round(secs / 60, 1)
    hours = round(mins / 60, 1)
    stamp = s.seen_at.isoformat(sep=" ")[:19]  # to the second; a fifth of strftime's time
    return (
        s.station,
        s.species,
        stamp,
        stamp[:10],
        stamp[11:],
        secs,
        _whole(mins),
        _whole(hours),
        _whole(round(hours / 24, 1)),
        s.directory,
        s.file_name,
        s.deployment_id,
        s.taxon_id,
        s.occurrence_id,
        s.offset_minutes,
    )


def _whole(value: float) -> float | int:
    """A whole number as an integer (``120``, not ``120.0``), as R writes it."""
    return int(value) if value == int(value) else value
