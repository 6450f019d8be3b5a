"""What a deployment counts by: one pipeline, chosen once by the first results tracked on it,
and after that only by a person (docs/counting.md). A new version, an import, a callback test or
a member's pipeline arriving on a deployment changes nothing it counts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

#: What introduces the lines of ``VersionShare.line`` in an export's metadata.
STATED = "Each deployment's individuals are those tracked in the results of one pipeline:"


class Chosen(StrEnum):
    """Who chose the pipeline a deployment counts by."""

    #: The first results tracked on it (the project's choice among them, if it was there).
    RESULTS = "results"
    #: A person, for the whole project.
    PROJECT = "project"
    #: A person, for this deployment: a choice for the project leaves it be.
    PERSON = "person"


def first_choice(arrived: Mapping[str, int], project_choice: str | None) -> str:
    """The pipeline a deployment counts by when its first results arrive (``arrived``: each
    pipeline's tracked detections): the project's choice among them, else the one with the
    most detections (then by name)."""
    if project_choice in arrived:
        return str(project_choice)
    return min(arrived, key=lambda p: (-arrived[p], p))


@dataclass(frozen=True)
class DeploymentCounting:
    """What one deployment counts by, and what else it could."""

    deployment_id: int
    name: str
    #: None: nothing tracked on it yet.
    pipeline: str | None
    chosen: Chosen | None
    #: (pipeline, occurrences, detections) of every pipeline tracked on it, most detections
    #: first.
    tracked: tuple[tuple[str, int, int], ...]
    #: What the last change of its pipeline could not carry to the new one's individuals.
    not_carried: tuple[str, ...] = ()

    @property
    def others(self) -> tuple[str, ...]:
        """The pipelines tracked on it that it does not count by."""
        return tuple(p for p, _, _ in self.tracked if p != self.pipeline)


@dataclass(frozen=True)
class VersionShare:
    """Which versions of the pipeline a deployment counts by its photos' current results are
    of: a count of versions 2 and 3 is said to be one."""

    pipeline: str | None
    #: (version, photos whose current result is of it), newest first; empty when one version
    #: alone can be current (the project has one, or pins one) or none is numbered (an
    #: external pipeline's, through the callback API).
    versions: tuple[tuple[int, int], ...]
    #: The deployment's photos (0 when ``versions`` is empty: not read).
    photos: int

    @property
    def mixed(self) -> bool:
        """Its photos' current results are of more than one version."""
        return len(self.versions) > 1

    @property
    def without(self) -> int:
        """Photos with no result of the pipeline."""
        return max(self.photos - sum(n for _, n in self.versions), 0)

    def said(self) -> str:
        """In words: "version 2 on 5 of 20 photos, version 1 on 15"."""
        if not self.versions:
            return ""
        parts = [
            f"version {v} on {n:,}" + (f" of {self.photos:,} photos" if i == 0 else "")
            for i, (v, n) in enumerate(self.versions)
        ]
        if len(parts) == 1 and self.without == 0:
            parts = [f"version {self.versions[0][0]} on all {self.photos:,} photos"]
        if self.without:
            parts.append(f"{self.without:,} without its results")
        return ", ".join(parts)

    def line(self, deployment: str) -> str:
        """What one deployment counts, as exports and pages state it: "Pond: megadetector
        (version 5 on 15 of 20 photos, version 4 on 5)"."""
        if self.pipeline is None:
            return f"{deployment}: nothing tracked yet"
        said = self.said()
        return f"{deployment}: {self.pipeline}" + (f" ({said})" if said else "")
