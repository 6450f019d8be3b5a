"""Charts drawn on the server as SVG: no script, nothing to load."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

#: Size of the drawing area, in SVG units (the chart scales to its box).
WIDTH = 720
HEIGHT = 200
PAD = 28


@dataclass(frozen=True)
class Bar:
    """One night: two bars (images, occurrences) and their labels."""

    x: float
    width: float
    images_y: float
    images_h: float
    occurrences_y: float
    occurrences_h: float
    night: str
    images: int
    occurrences: int


@dataclass(frozen=True)
class BarChart:
    """What the template draws."""

    bars: list[Bar]
    max_value: int
    width: int = WIDTH
    height: int = HEIGHT
    pad: int = PAD


def bar_chart(nights: list[tuple[Any, int, int]]) -> BarChart:
    """Images and occurrences (night, images, occurrences) per night as pairs of bars, on
    one scale."""
    top = max([max(n, k) for _, n, k in nights] or [1]) or 1
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    slot = inner_w / max(len(nights), 1)
    bar_w = max(slot * 0.4, 1.0)
    bars = []
    for i, (night, n, k) in enumerate(nights):
        x = PAD + i * slot + slot * 0.1
        images_h = inner_h * n / top
        occurrences_h = inner_h * k / top
        bars.append(
            Bar(
                x=round(x, 1),
                width=round(bar_w, 1),
                images_y=round(HEIGHT - PAD - images_h, 1),
                images_h=round(images_h, 1),
                occurrences_y=round(HEIGHT - PAD - occurrences_h, 1),
                occurrences_h=round(occurrences_h, 1),
                night=str(night),
                images=n,
                occurrences=k,
            )
        )
    return BarChart(bars, top)
