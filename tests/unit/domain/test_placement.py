"""Where a new photo goes among its neighbours' events: the five cases of ``placement``."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.ecology.events import Moment, Placement, placement

SEQUENCE = Grouping(EventRule.SEQUENCE, 60)
T0 = datetime(2024, 6, 1, 22, 0)


def at(seconds: int) -> Moment:
    return Moment(T0 + timedelta(seconds=seconds), 120)


@pytest.mark.parametrize(
    ("before", "after", "expected"),
    [
        # Between two photos of event 7, near both: it joins event 7.
        ((at(0), 7), (at(60), 7), (Placement.INSIDE, 7)),
        # Inside event 7 but far from a neighbour (a gap the rule would cut): regrouped.
        ((at(-100), 7), (at(200), 7), (Placement.REGROUP, 0)),
        # Near the last photo of event 7 only: it ends event 7.
        ((at(0), 7), (at(500), 8), (Placement.LAST, 7)),
        # Near the first photo of event 8 only: it starts event 8.
        ((at(-500), 7), (at(40), 8), (Placement.FIRST, 8)),
        # Near neither: an event of its own.
        ((at(-500), 7), (at(500), 8), (Placement.ALONE, 0)),
        # Near both, of two events: it joins them, so their span is regrouped.
        ((at(-30), 7), (at(30), 8), (Placement.REGROUP, 0)),
        # The first photo of a deployment, near the next one's event; the last, near none.
        (None, (at(30), 8), (Placement.FIRST, 8)),
        ((at(-500), 7), None, (Placement.ALONE, 0)),
        (None, None, (Placement.ALONE, 0)),
    ],
)
def test_a_photo_goes_where_its_neighbours_say(before, after, expected) -> None:
    assert placement(SEQUENCE, at(10), before, after) == expected


def test_a_night_holds_every_photo_of_its_night() -> None:
    night = Grouping(EventRule.NIGHT)
    evening, small_hours = Moment(T0, 0), Moment(T0 + timedelta(hours=5), 0)
    assert placement(night, Moment(T0 + timedelta(hours=2), 0), (evening, 3), (small_hours, 3)) == (
        Placement.INSIDE,
        3,
    )
