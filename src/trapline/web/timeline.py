"""The small timeline of a deployment's events, drawn on the server as SVG geometry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from trapline.domain.ecology.events import Event

#: Drawing size in SVG units (the page scales it to its width).
WIDTH = 600
HEIGHT = 36
PAD = 4
#: The narrowest mark, so a one-photo event stays visible.
MIN_MARK = 2.0


@dataclass(frozen=True)
class Mark:
    """One event on the timeline."""

    event: Event
    x: float
    width: float


@dataclass(frozen=True)
class Timeline:
    """Marks placed along the span from the first event's start to the last one's end."""

    width: int
    height: int
    pad: int
    marks: list[Mark]
    first: datetime | None
    last: datetime | None


def _instant(local: datetime, offset_minutes: int) -> datetime:
    return local.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))


def event_timeline(events: Sequence[Event]) -> Timeline:
    """Place events by their instants (offsets count, so a clock change draws no overlap)."""
    if not events:
        return Timeline(WIDTH, HEIGHT, PAD, [], None, None)
    starts = [_instant(e.starts_at, e.start_offset_minutes) for e in events]
    ends = [_instant(e.ends_at, e.end_offset_minutes) for e in events]
    first, last = min(starts), max(ends)
    span = max((last - first).total_seconds(), 1.0)
    usable = WIDTH - 2 * PAD
    marks = []
    for event, start, end in zip(events, starts, ends, strict=True):
        x = PAD + usable * (start - first).total_seconds() / span
        width = max(usable * (end - start).total_seconds() / span, MIN_MARK)
        marks.append(Mark(event, round(x, 1), round(min(width, WIDTH - PAD - x), 1)))
    return Timeline(WIDTH, HEIGHT, PAD, marks, events[0].starts_at, events[-1].ends_at)


def local_time(local: datetime, offset_minutes: int) -> str:
    """A wall-clock time with its UTC offset, as the pages show it (``2024-06-21 22:00 +03:00``)."""
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{local:%Y-%m-%d %H:%M:%S} {sign}{hours:02d}:{minutes:02d}"
