"""The taxon page's charts, drawn on the server as SVG geometry: occurrences per night
(phenology) and per hour of the local clock (activity).

Each bar carries its value and words for its tooltip; each chart a sentence that says what it
shows, for those who do not see it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date

#: Drawing size in SVG units (the chart scales to its box).
WIDTH = 720
HEIGHT = 180
PAD = 28
#: The widest bar, so that a chart of one night still looks like a bar.
MAX_BAR = 24.0
#: The hours in the order the chart draws them: noon to noon, so a night is in one piece.
HOURS = (*range(12, 24), *range(12))


@dataclass(frozen=True)
class Column:
    """One bar: where it stands, its value and its tooltip."""

    x: float
    y: float
    width: float
    height: float
    value: int
    #: What the bar counts: its night, or its hour.
    name: str

    @property
    def title(self) -> str:
        """Its tooltip."""
        return f"{self.name}: {_plural(self.value, 'occurrence')}"


@dataclass(frozen=True)
class Tick:
    """A label under the axis."""

    x: float
    text: str
    #: Which end of the text stands at x: start, middle or end.
    anchor: str = "start"


@dataclass(frozen=True)
class Chart:
    """What the template draws."""

    columns: list[Column]
    ticks: list[Tick]
    top: int
    summary: str
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD

    @property
    def baseline(self) -> int:
        return self.height - self.pad


def _plural(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


def _column(slot: float, left: float, value: int, top: int, name: str) -> Column:
    inner = HEIGHT - 2 * PAD
    height = inner * value / top if top else 0.0
    width = min(max(slot * 0.8, 1.0), MAX_BAR)
    return Column(
        x=round(left + (slot - width) / 2, 2),
        y=round(HEIGHT - PAD - height, 2),
        width=round(width, 2),
        height=round(height, 2),
        value=value,
        name=name,
    )


def nights_chart(per_night: Sequence[tuple[date, int]]) -> Chart:
    """A bar for each night with occurrences, placed by date from the first night to the last."""
    nights = sorted((night, n) for night, n in per_night if n > 0)
    if not nights:
        return Chart([], [], 0, "No occurrence in these nights.")
    first, last = nights[0][0], nights[-1][0]
    days = (last - first).days + 1
    slot = (WIDTH - 2 * PAD) / days
    top = max(n for _, n in nights)
    columns = [
        _column(slot, PAD + (night - first).days * slot, n, top, str(night)) for night, n in nights
    ]
    busiest, most = max(nights, key=lambda pair: (pair[1], -pair[0].toordinal()))
    total = sum(n for _, n in nights)
    summary = (
        f"{_plural(total, 'occurrence')} on {_plural(len(nights), 'night')} from {first} to "
        f"{last}; the most, {most:,}, on the night of {busiest}."
    )
    if last == first:
        ticks = [Tick(WIDTH / 2, str(first), "middle")]
    else:
        ticks = [Tick(PAD, str(first)), Tick(WIDTH - PAD, str(last), "end")]
    return Chart(columns, ticks, top, summary)


def hours_chart(per_hour: Mapping[int, int]) -> Chart:
    """24 bars, noon to noon: the occurrences first seen in each hour of the local clock."""
    slot = (WIDTH - 2 * PAD) / len(HOURS)
    values = [per_hour.get(hour, 0) for hour in HOURS]
    top = max(values)
    columns = [
        _column(slot, PAD + i * slot, n, top, f"{hour:02d}:00 to {hour:02d}:59")
        for i, (hour, n) in enumerate(zip(HOURS, values, strict=True))
    ]
    ticks = [
        Tick(PAD + i * slot, f"{hour:02d}:00") for i, hour in enumerate(HOURS) if hour % 6 == 0
    ]
    if not top:
        return Chart(columns, ticks, 0, "No occurrence to place in the day.")
    busiest = max(HOURS, key=lambda hour: per_hour.get(hour, 0))
    summary = (
        f"First seen most often from {busiest:02d}:00 to {busiest:02d}:59 "
        f"({per_hour[busiest]:,} of {_plural(sum(values), 'occurrence')})."
    )
    return Chart(columns, ticks, top, summary)
