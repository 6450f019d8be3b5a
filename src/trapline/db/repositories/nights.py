"""Nights in SQL: a light trap's night runs from noon to noon on the camera's clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import Date, cast, func
from sqlalchemy.orm import Session

#: A night is named by the date of its evening: the date twelve hours earlier.
NIGHT_SHIFT = timedelta(hours=12)


def night_of(session: Session, wall_clock: Any) -> Any:
    """SQL of the night a wall-clock time falls in, named by the date of its evening (22:00
    and 03:00 are one night)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(wall_clock, "-12 hours")
    return cast(wall_clock - NIGHT_SHIFT, Date)
