"""When each camera worked, and where one taxon was recorded, as camtrapR's
``cameraOperation`` and ``detectionHistory`` make them (docs/analysis.md).

A camera-operation matrix has a row per station (deployment) and a column per day of the
survey, on the camera's clock: the part of the day the camera operated (1, 0.5 or 0) or None
(NA: before its setup or after its retrieval). Setup and retrieval are the days of the
deployment's start and end, else of its first and last photo; camtrapR takes a camera set up
and retrieved on given days to have been set up and retrieved at noon, so those days count
0.5 (``SetupDays.HALF``, the default) where trapline once counted them whole
(``SetupDays.WHOLE``). Between them, a day without a photo is 0 (``EmptyDays.OFF``, the
default: a trap that photographs every night it runs was off) or operating, as camtrapR counts
every day between setup and retrieval unless a problem is recorded (``EmptyDays.OPERATING``).

A detection history cuts each row into occasions of ``occasionLength`` days, starting at the
station's setup (``day1="station"``) or the survey's first day (``"survey"``). An occasion's
effort is the sum of its days' cells; its cell is NA when the effort is 0 (or None) or below
``minActiveDaysPerOccasion``, else the records of the taxon on its days (``count``) or whether
there was one (``binary``). One-day occasions are camtrapR's matrix as it is: the effort is the
day's cell (0 too) and ``minActiveDaysPerOccasion`` does not apply. The last occasion, when
shorter than the others, is kept (its effort says how many days it had).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

#: The longest survey a matrix spans, in days (ten years): a typo in a date is refused rather
#: than made into a matrix of millions of cells.
MAX_SURVEY_DAYS = 3_660
#: The longest occasion, in days.
MAX_OCCASION_DAYS = 366
#: The most cells (stations x days) one matrix may hold: a request or an export of more is
#: refused, saying how to narrow it, so that none takes more than about 150 MB.
MAX_CELLS = 2_000_000

#: A cell: the part of the day operating (1, 0.5 or 0), None outside setup..retrieval (NA).
Cell = float | None
#: A setup or retrieval day's cell, as camtrapR counts it.
HALF_DAY = 0.5


class EmptyDays(StrEnum):
    """What a day without a photo between setup and retrieval means."""

    #: The camera was not operating (0): a trap that photographs every night it runs.
    OFF = "off"
    #: The camera was operating (1), as camtrapR counts days unless a problem is recorded.
    OPERATING = "operating"


class SetupDays(StrEnum):
    """What a station's setup and retrieval days count."""

    #: Half a day each (0.5), as camtrapR takes setup and retrieval to be at noon when the
    #: days are given without times.
    HALF = "half"
    #: A whole day each (1).
    WHOLE = "whole"


@dataclass(frozen=True)
class StationDays:
    """What the matrix is made from for one station."""

    deployment_id: int
    station: str
    #: The days of the deployment's start and end (None: not set; its photos' days count).
    started: date | None
    ended: date | None
    #: The days (camera's clock) it has photos on.
    photo_days: frozenset[date]

    @property
    def setup(self) -> date | None:
        """Its first day: the deployment's start, else its first photo's day."""
        return self.started or (min(self.photo_days) if self.photo_days else None)

    @property
    def retrieval(self) -> date | None:
        """Its last day: the deployment's end, else its last photo's day."""
        return self.ended or (max(self.photo_days) if self.photo_days else None)


@dataclass(frozen=True)
class OperationRow:
    """A station's row of the matrix."""

    deployment_id: int
    station: str
    setup: date | None
    retrieval: date | None
    cells: tuple[Cell, ...]


@dataclass(frozen=True)
class Operation:
    """A camera-operation matrix: a column per day, a row per station."""

    days: tuple[date, ...]
    rows: tuple[OperationRow, ...]
    empty_days: EmptyDays
    setup_days: SetupDays = SetupDays.HALF


def check_days(since: date | None, until: date | None) -> None:
    """ValueError naming the field when the days are reversed."""
    if since is not None and until is not None and since > until:
        raise ValueError(f"since: the first day ({since}) comes after the last (until, {until})")


def camera_operation(
    stations: Iterable[StationDays],
    empty_days: EmptyDays = EmptyDays.OFF,
    since: date | None = None,
    until: date | None = None,
    setup_days: SetupDays = SetupDays.HALF,
) -> Operation:
    """The matrix of ``stations`` (in the order given) over the survey's days: from the
    earliest setup to the latest retrieval, within ``since`` and ``until`` when given. A
    station set up and retrieved on one day counts it as a setup day (camtrapR refuses
    such a station)."""
    check_days(since, until)
    stations = list(stations)
    days = _survey_days(stations, since, until)
    operating = empty_days is EmptyDays.OPERATING
    edge = HALF_DAY if setup_days is SetupDays.HALF else 1
    rows = tuple(_operation_row(s, days, operating, edge) for s in stations)
    return Operation(days, rows, empty_days, setup_days)


def _survey_days(
    stations: list[StationDays], since: date | None, until: date | None
) -> tuple[date, ...]:
    """The survey's days: from the earliest setup to the latest retrieval, within ``since``
    and ``until``; ValueError when the matrix would be too large."""
    setups = [s.setup for s in stations if s.setup is not None]
    retrievals = [s.retrieval for s in stations if s.retrieval is not None]
    first = max(min(setups), since) if setups and since else (min(setups) if setups else None)
    last = min(max(retrievals), until) if retrievals and until else max(retrievals, default=None)
    if first is None or last is None or first > last:
        return ()
    span = (last - first).days + 1
    if span > MAX_SURVEY_DAYS:
        raise ValueError(
            f"since: the survey spans {span} days, more than {MAX_SURVEY_DAYS}; "
            "give since and until (or fix the deployments' start and end)"
        )
    if span * len(stations) > MAX_CELLS:
        raise ValueError(
            f"since: the table would hold {span * len(stations):,} cells ({len(stations):,} "
            f"stations x {span:,} days), more than the {MAX_CELLS:,} one may hold; give "
            "since and until, or a deployment, and ask for the rest in parts"
        )
    return tuple(first + timedelta(days=n) for n in range(span))


def _operation_row(
    s: StationDays, days: tuple[date, ...], operating: bool, edge: float
) -> OperationRow:
    """A station's row: NA outside its setup and retrieval, 0 on a day without photos (unless
    ``operating``), ``edge`` on its setup and retrieval days, else 1."""
    setup, retrieval = s.setup, s.retrieval
    cells: list[Cell] = []
    for day in days:
        if setup is None or retrieval is None or not setup <= day <= retrieval:
            cells.append(None)
        elif not operating and day not in s.photo_days:
            cells.append(0)
        else:
            cells.append(edge if day in (setup, retrieval) else 1)
    return OperationRow(s.deployment_id, s.station, setup, retrieval, tuple(cells))


class Day1(StrEnum):
    """Where the occasions start (camtrapR's ``day1``)."""

    #: Each station's setup day.
    STATION = "station"
    #: The survey's first day.
    SURVEY = "survey"


class HistoryOutput(StrEnum):
    """What a cell of a detection history holds (camtrapR's ``output``)."""

    BINARY = "binary"
    COUNT = "count"


@dataclass(frozen=True)
class Occasions:
    """How a detection history cuts the days (camtrapR's ``occasionLength``, ``day1``,
    ``output`` and ``minActiveDaysPerOccasion``)."""

    length: int = 1
    day1: Day1 = Day1.STATION
    output: HistoryOutput = HistoryOutput.BINARY
    #: Cells with fewer operating days are NA (None: one day is enough).
    min_active_days: int | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.length <= MAX_OCCASION_DAYS:
            raise ValueError(
                f"occasion_length must be from 1 to {MAX_OCCASION_DAYS} days (got {self.length})"
            )
        least = self.min_active_days
        if least is not None and not 1 <= least <= self.length:
            raise ValueError(
                f"min_active_days must be from 1 to occasion_length ({self.length}) (got {least})"
            )


@dataclass(frozen=True)
class HistoryRow:
    """A station's detection history: a cell and an effort per occasion (None: NA)."""

    deployment_id: int
    station: str
    #: The day its first occasion starts (None: a station that never operated).
    start: date | None
    cells: tuple[int | None, ...]
    #: Days operating (halves on setup and retrieval days), a whole number as an int.
    effort: tuple[float | None, ...]


@dataclass(frozen=True)
class History:
    """A detection history: ``occasions`` columns (o1, o2, ...), a row per station."""

    occasions: int
    rows: tuple[HistoryRow, ...]
    #: The first day of each occasion when they start on the survey's first day (else each
    #: row has its own ``start``).
    occasion_starts: tuple[date, ...]


def detection_history(
    operation: Operation, record_days: Mapping[int, Iterable[date]], occasions: Occasions
) -> History:
    """The history of one taxon from the camera operation and the days of its records, by
    deployment (a record on a day the matrix has as NA, or outside it, is not counted)."""
    days = operation.days
    length = occasions.length
    survey = occasions.day1 is Day1.SURVEY
    starts, total = _occasion_starts(operation, occasions)
    index = {day: n for n, day in enumerate(days)}
    rows = tuple(
        _history_row(
            row,
            starts[row.deployment_id],
            total,
            days,
            _records_per_day(row, index, record_days),
            occasions,
        )
        for row in operation.rows
    )
    occasion_starts = tuple(days[k * length] for k in range(total)) if survey else ()
    return History(total, rows, occasion_starts)


def _occasion_starts(
    operation: Operation, occasions: Occasions
) -> tuple[dict[int, int | None], int]:
    """Each station's first occasion (a day's place; None: it never operated) and how many
    occasions the history has: enough for the station whose occasions run longest."""
    survey = occasions.day1 is Day1.SURVEY
    starts: dict[int, int | None] = {}
    spans = []  # days from each station's first occasion to its retrieval (or the last day)
    for row in operation.rows:
        active = [n for n, c in enumerate(row.cells) if c is not None]
        starts[row.deployment_id] = None
        if active:
            begin = starts[row.deployment_id] = 0 if survey else active[0]
            spans.append(len(operation.days) - begin if survey else active[-1] - begin + 1)
    length = occasions.length
    return starts, max(((span + length - 1) // length for span in spans), default=0)


def _records_per_day(
    row: OperationRow, index: Mapping[date, int], record_days: Mapping[int, Iterable[date]]
) -> list[int]:
    """A station's records on each day of the matrix (``index``: a day's place), those on a
    day it has as NA left out."""
    per_day = [0] * len(index)
    for day in record_days.get(row.deployment_id, ()):
        n = index.get(day)
        if n is not None and row.cells[n] is not None:
            per_day[n] += 1
    return per_day


def _history_row(
    row: OperationRow,
    start: int | None,
    total: int,
    days: tuple[date, ...],
    per_day: list[int],
    occasions: Occasions,
) -> HistoryRow:
    """A station's ``total`` occasions from its first (``start``): each one's cell and
    effort, from its records on each day (``per_day``)."""
    length = occasions.length
    cells: list[int | None] = []
    effort: list[float | None] = []
    for k in range(total):
        span = range(0)
        if start is not None:
            span = range(start + k * length, min(start + (k + 1) * length, len(days)))
        cell, worked = (
            _occasion([row.cells[n] for n in span], sum(per_day[n] for n in span), occasions)
            if span
            else (None, None)
        )
        cells.append(cell)
        effort.append(worked)
    first = days[start] if start is not None else None
    return HistoryRow(row.deployment_id, row.station, first, tuple(cells), tuple(effort))


def _occasion(
    days: list[Cell], found: int, occasions: Occasions
) -> tuple[int | None, float | None]:
    """An occasion's cell and effort from its days' cells and the records found on them, as
    camtrapR's ``detectionHistory`` makes them (with ``includeEffort``)."""
    if len(days) == 1 and occasions.length == 1:
        # camtrapR keeps the matrix as it is: a day off has effort 0 (and an NA cell).
        worked = days[0]
        if worked is None or worked == 0:
            return None, worked
    else:
        if all(d is None or d == 0 for d in days):
            return None, None
        worked = whole(sum(d for d in days if d is not None))
        if worked < (occasions.min_active_days or 0):
            return None, None
    binary = occasions.output is HistoryOutput.BINARY
    return (min(found, 1) if binary else found), worked


def whole(value: float) -> float:
    """A whole number as an int (``2``, not ``2.0``), as R writes it; else as it is."""
    return int(value) if value == int(value) else value
