"""Orderings and cursors for walking long lists without deep offsets."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

#: Stands in for an unknown capture time in the sort key, so such images sort last.
UNKNOWN_CAPTURE_SORT = datetime(9999, 12, 31, 23, 59, 59)
#: The most matches an API listing counts; past it its ``count`` is null (a project holds
#: millions of photos and annotations, and counting every match of a filter reads them all).
COUNTED_UP_TO = 10_000


class ImageOrder(StrEnum):
    """How image lists are ordered; ties are broken by id, so every order is stable."""

    CAPTURED = "captured_at"
    CAPTURED_DESC = "-captured_at"
    ID = "id"
    ID_DESC = "-id"

    @property
    def descending(self) -> bool:
        """Whether the order runs from high to low."""
        return self.value.startswith("-")

    @property
    def by_capture(self) -> bool:
        """Whether the order's first key is the capture time."""
        return self.value.lstrip("-") == "captured_at"


@dataclass(frozen=True)
class Cursor:
    """A position between two items: the sort key of the item next to it and the direction.

    ``backwards`` cursors fetch the page before the item (for ``previous`` links).
    """

    captured_sort: datetime | None
    id: int
    backwards: bool = False


def capture_sort_key(captured_at: datetime | None) -> datetime:
    """The sort key stored for a capture time."""
    return captured_at if captured_at is not None else UNKNOWN_CAPTURE_SORT
