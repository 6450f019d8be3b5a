"""Event rules: how a project's or a deployment's photos fall into events (a setting of each,
stored on its record), and the rule a new project starts with by its kind. Grouping photos by
them is ``domain/ecology/events.py``'s."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class EventRule(StrEnum):
    """How a deployment's photos fall into events."""

    NIGHT = "night"
    SEQUENCE = "sequence"


#: The gap of a ``sequence`` rule that names none (seconds).
DEFAULT_GAP_SECONDS = 60
#: The longest gap a ``sequence`` rule takes: a week (longer ones make no events).
MAX_GAP_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class Grouping:
    """A rule with its gap (the gap matters to ``sequence`` only)."""

    rule: EventRule
    gap_seconds: int = DEFAULT_GAP_SECONDS


class ProjectKind(StrEnum):
    """What a project records: its kind sets a new project's event rule."""

    LIGHT_TRAP = "light_trap"
    CAMERA_TRAP = "camera_trap"
    OTHER = "other"

    @property
    def grouping(self) -> Grouping:
        """The event rule a new project of this kind starts with: a light trap counts by
        night (its frames come minutes apart all night), a camera trap by 60 s sequences."""
        if self is ProjectKind.CAMERA_TRAP:
            return Grouping(EventRule.SEQUENCE, DEFAULT_GAP_SECONDS)
        return Grouping(EventRule.NIGHT)
