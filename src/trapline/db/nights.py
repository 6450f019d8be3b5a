"""Nights in SQL: a light trap's night runs from noon to noon on the camera's clock."""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import Date, Integer, cast, func
from sqlalchemy.orm import Session

from trapline.domain.ecology.events import NIGHT_SHIFT

_HOURS = int(NIGHT_SHIFT.total_seconds() // 3600)
#: The night of wall-clock time ``{x}`` as SQL text, per dialect. SQLite's date functions
#: round to the millisecond: whole seconds keep 11:59:59.9999 before noon.
NIGHT_SQL = {
    "sqlite": f"date(substr({{x}}, 1, 19), '-{_HOURS} hours')",
    "postgresql": f"CAST({{x}} - INTERVAL '{_HOURS} hours' AS DATE)",
}


def night_of(session: Session, wall_clock: Any) -> Any:
    """SQL of the night a wall-clock time falls in, named by the date of its evening (22:00
    and 03:00 are one night)."""
    if session.get_bind().dialect.name == "sqlite":
        return func.date(func.substr(wall_clock, 1, 19), f"-{_HOURS} hours")
    return cast(wall_clock - NIGHT_SHIFT, Date)


def hour_of(session: Session, wall_clock: Any) -> Any:
    """SQL of the hour (0-23) of a wall-clock time, as an integer. SQLite keeps a time as text
    (``2024-06-21 22:05:00``): its hour is cut from the text, not parsed (``strftime`` parses
    the whole time, several times the cost over a project's occurrences)."""
    if session.get_bind().dialect.name == "sqlite":
        return cast(func.substr(wall_clock, 12, 2), Integer)
    return cast(func.extract("hour", wall_clock), Integer)


def sql_date(value: Any) -> date:
    """A date (a night of ``night_of``, a day) as SQL answers it: SQLite as text."""
    return date.fromisoformat(value) if isinstance(value, str) else value
