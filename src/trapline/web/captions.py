"""Capture times under photos: the local wall clock with its UTC offset, to the minute, or to
the second where photos shown together share a minute (a camera trap's burst)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

#: A minute of a local wall clock and its UTC offset.
Minute = tuple[datetime, int | None]


class Image(Protocol):
    """What has a capture time: a photo, or a detection in it."""

    @property
    def captured_at(self) -> datetime | None: ...

    @property
    def captured_offset_minutes(self) -> int | None: ...


def _minute(image: Image) -> Minute | None:
    if image.captured_at is None:
        return None
    return image.captured_at.replace(second=0, microsecond=0), image.captured_offset_minutes


def shared_minutes(images: Iterable[Image]) -> frozenset[Minute]:
    """The minutes at least two of ``images`` were taken in."""
    counted = Counter(m for m in map(_minute, images) if m is not None)
    return frozenset(m for m, n in counted.items() if n > 1)


def captured(image: Image, shared: frozenset[Minute] = frozenset()) -> str:
    """An image's capture time as its local wall clock with its UTC offset; with seconds when
    its minute is one of ``shared``."""
    at, offset = image.captured_at, image.captured_offset_minutes
    if at is None:
        return "—"
    shown = f"{at:%Y-%m-%d %H:%M:%S}" if _minute(image) in shared else f"{at:%Y-%m-%d %H:%M}"
    if offset is None:
        return shown
    sign, minutes = ("-" if offset < 0 else "+"), abs(offset)
    return f"{shown} {sign}{minutes // 60:02d}:{minutes % 60:02d}"
