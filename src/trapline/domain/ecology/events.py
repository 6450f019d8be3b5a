"""Events: the runs of a deployment's photos an ecologist counts by.

A deployment's dated images fall into events by one rule, the deployment's own or else its
project's:

- ``night``: noon to noon in local (wall-clock) time, one event per night of a light trap;
- ``sequence``: a new event starts after a gap longer than ``gap_seconds`` between two
  consecutive photos (camera traps; gaps are measured between instants, so offsets count).

Photos are taken in order of their wall-clock time, so an event is always a run of
consecutive photos of its deployment. Images without a capture time or a deployment belong to
no event.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum

from trapline.domain.core.event_rules import EventRule, Grouping

#: A night runs from local noon to local noon: it is named by the date of the wall-clock time
#: this much earlier. The one definition of a night (SQL: ``db/nights.py``).
NIGHT_SHIFT = timedelta(hours=12)


def night_of(local: datetime) -> date:
    """The night a wall-clock time falls in, named by the date of its evening."""
    return (local - NIGHT_SHIFT).date()


def night_start(night: date) -> datetime:
    """The wall-clock time a night starts at (noon of its evening's date)."""
    return datetime.combine(night, time()) + NIGHT_SHIFT


def night_end(night: date) -> datetime:
    """The wall-clock time a night ends before (noon the next day); the calendar's last
    night ends at its last moment."""
    if night == date.max:
        return datetime.max
    return night_start(night + timedelta(days=1))


@dataclass(frozen=True)
class Nights:
    """A run of nights, the first to the last (both included)."""

    first: date
    last: date

    @classmethod
    def ending(cls, last: date, count: int) -> Nights:
        """``count`` nights up to ``last`` (fewer when the calendar starts sooner)."""
        return cls(last - timedelta(days=min(count - 1, (last - date.min).days)), last)

    @classmethod
    def starting(cls, first: date, count: int) -> Nights:
        """``count`` nights from ``first`` (fewer when the calendar ends sooner)."""
        return cls(first, first + timedelta(days=min(count - 1, (date.max - first).days)))

    def wall_clock(self) -> tuple[datetime, datetime]:
        """The wall-clock times they span: noon of the first night's date to noon after the
        last (the end excluded)."""
        return night_start(self.first), night_end(self.last)


@dataclass(frozen=True)
class Moment:
    """A capture time: the wall clock and its UTC offset."""

    local: datetime
    offset_minutes: int

    def gap_to(self, later: Moment) -> float:
        """Seconds between this instant and a later one, to the millisecond."""
        seconds = (later.local - self.local).total_seconds()
        return round((seconds - (later.offset_minutes - self.offset_minutes) * 60) * 1000) / 1000


def together(grouping: Grouping, earlier: Moment, later: Moment) -> bool:
    """Whether two consecutive photos are in the same event."""
    if grouping.rule is EventRule.NIGHT:
        return night_of(earlier.local) == night_of(later.local)
    return earlier.gap_to(later) <= grouping.gap_seconds


@dataclass(frozen=True)
class Event:
    """One event of a deployment: its first and last photo's times and how many it holds."""

    id: int
    project_id: int
    deployment_id: int
    starts_at: datetime
    start_offset_minutes: int
    ends_at: datetime
    end_offset_minutes: int
    image_count: int
    #: The earliest photo (ties: the lowest id).
    first_image_id: int
    #: Its occurrences are due to be tracked again (its results or reviews changed since).
    tracking_due: bool = False
    #: Boxes its last tracking left out: those past ``tracking.MAX_BOXES`` on one photo,
    #: whatever pipelines posted them (``occurrences.within_cap``; stored and shown on the
    #: photo, in no occurrence and no count).
    untracked_boxes: int = 0
    #: Why its last tracking failed, while it has not been tracked since (None: it did not).
    tracking_error: str | None = None
    #: When its tracking is tried again after one that did not finish (None: when due).
    tracking_retry_at: datetime | None = None


class Placement(StrEnum):
    """Where a new photo goes among its neighbours' events."""

    #: Between two photos of one event, joining both.
    INSIDE = "inside"
    #: After the last photo of the event before it.
    LAST = "last"
    #: Before the first photo of the event after it.
    FIRST = "first"
    #: In an event of its own.
    ALONE = "alone"
    #: It joins two events into one, or splits one: their span is grouped again.
    REGROUP = "regroup"


#: A neighbouring photo: when it was taken, and its event (None: it was never grouped).
Neighbour = tuple[Moment, int | None]


def placement(
    grouping: Grouping, here: Moment, before: Neighbour | None, after: Neighbour | None
) -> tuple[Placement, int]:
    """Where a photo taken at ``here`` goes between the dated photos just ``before`` and
    just ``after`` it (grouped ones), and the event it joins (0 for none)."""
    joins = (
        before is not None and together(grouping, before[0], here),
        after is not None and together(grouping, here, after[0]),
    )
    first, second = _event_of(before), _event_of(after)
    if first and first == second:  # it falls inside one event
        return (Placement.INSIDE, first) if all(joins) else (Placement.REGROUP, 0)
    beside = {
        (True, False): (Placement.LAST, first),
        (False, True): (Placement.FIRST, second),
        (False, False): (Placement.ALONE, 0),
    }
    return beside.get(joins, (Placement.REGROUP, 0))


def _event_of(neighbour: Neighbour | None) -> int:
    """A neighbour's event (0: no neighbour, or one never grouped)."""
    return (neighbour[1] if neighbour else None) or 0


class RegroupingStatus(StrEnum):
    """Where a regrouping of events stands."""

    QUEUED = "queued"
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    #: A later rule change of the same scope started another regrouping, doing this one's work.
    SUPERSEDED = "superseded"


@dataclass(frozen=True)
class Regrouping:
    """Grouping a project's deployments (or one deployment) into events again after a rule
    changed, deployment by deployment."""

    id: int
    project_id: int
    deployment_id: int | None
    status: RegroupingStatus
    deployments_total: int | None
    deployments_done: int
    #: Deployments that could not be regrouped: each keeps its events, ``error`` says why.
    deployments_failed: int
    error: str | None
    #: What of the occurrences could not be kept as they were: a line for each occurrence
    #: it parted across events (the first hundred).
    not_kept: tuple[str, ...]
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class Activity:
    """A deployment's nights as its page shows them, a run at a time."""

    #: (night, photos, tracked detections, occurrences first seen) of each night of ``shown``
    #: with a photo, oldest first.
    nights: list[tuple[date, int, int, int]]
    #: The nights shown (None: the deployment has no dated photo).
    shown: Nights | None
    #: The last night of the run before and of the run after (None: no photo there).
    earlier: date | None
    later: date | None
