"""A grouping of a project's unidentified individuals, as stored: what it reads, its scope, how
far it has got, and once done its groups (``groups.py`` finds them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any


class GroupingStatus(StrEnum):
    """Where a grouping is: waiting for a server, running, done, or failed (``error``)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """Whether the grouping will not change any more (done or failed)."""
        return self in (GroupingStatus.DONE, GroupingStatus.FAILED)


@dataclass(frozen=True)
class GroupSummary:
    """One group of a done grouping: its number (1 the tightest), how many individuals it
    holds, and its tightness (the mean similarity of its members to its centre)."""

    number: int
    size: int
    tightness: float


@dataclass(frozen=True)
class Grouping:
    """A grouping: its name, the pipeline whose vectors it reads, its scope (a deployment, the
    nights from and to; None: all), its status and, once done, its groups."""

    id: int
    project_id: int
    name: str
    features_from: str
    deployment_id: int | None
    since: date | None
    until: date | None
    status: GroupingStatus
    error: str | None
    created_by: str | None
    created_at: datetime
    finished_at: datetime | None
    #: While it runs: what it is doing, and the share done (0 to 1).
    stage: str | None = None
    progress: float | None = None
    #: Once done: the vectors' version and length, the individuals taken, the dimensions
    #: they were reduced to, the groups, the individuals left ungrouped, and the silhouette
    #: of each number of groups tried.
    features_version: int | None = None
    features_length: int | None = None
    individuals: int | None = None
    dimensions: int | None = None
    groups: tuple[GroupSummary, ...] = ()
    ungrouped: int | None = None
    tried: tuple[tuple[int, float], ...] = ()

    @staticmethod
    def results_of(
        groups: tuple[GroupSummary, ...], ungrouped: int, tried: tuple[tuple[int, float], ...]
    ) -> dict[str, Any]:
        """The JSON a done grouping keeps of its groups."""
        return {
            "groups": [[g.number, g.size, round(g.tightness, 4)] for g in groups],
            "ungrouped": ungrouped,
            "tried": [list(t) for t in tried],
        }
