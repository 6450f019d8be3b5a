"""The species view: a project's occurrences counted per taxon, rolled up to a rank when
asked, with each taxon's first and last night and its best crop.

Counts come from the occurrence tallies, which are written with the occurrences (each
tracking, identification, split, merge or label mapping counts its event again), so they are
always those of the stored occurrences.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from functools import cached_property

from trapline.domain.taxa.taxa import Rank, Taxon


@dataclass(frozen=True)
class Scope:
    """Which occurrences a species view counts."""

    project_id: int
    deployment_id: int | None = None
    #: Nights (named by their evening's date) from and to, both included.
    since: date | None = None
    until: date | None = None
    #: Labels mapped as no object: their occurrences are not counted.
    hidden_labels: tuple[str, ...] = ()
    #: The pipeline whose occurrences are counted, on every deployment: counts never add two
    #: pipelines. None: each deployment's own (``chosen``), else nothing is tracked yet.
    pipeline: str | None = None
    #: When the deployments count by different pipelines, each one's: (deployment, pipeline)
    #: in deployment order (``domain/ecology/choices.py``).
    chosen: tuple[tuple[int, str], ...] = ()

    @property
    def counts_nothing(self) -> bool:
        """Nothing is tracked yet in the scope, so nothing is counted."""
        return self.pipeline is None and not self.chosen

    @property
    def counted_by(self) -> str | None:
        """What the scope counts, to name it: its pipeline, else its deployments' pipelines
        (comma-separated), else None (nothing tracked)."""
        if self.pipeline is not None:
            return self.pipeline
        return ", ".join(sorted(self.counted_pipelines)) or None

    @property
    def counted_pipelines(self) -> frozenset[str]:
        """Every pipeline the scope counts on some deployment (none: nothing tracked)."""
        if self.pipeline is not None:
            return frozenset((self.pipeline,))
        return frozenset(p for _, p in self.chosen)

    @cached_property
    def _chosen_by_deployment(self) -> dict[int, str]:
        return dict(self.chosen)

    def counts(self, pipeline: str, deployment_id: int | None) -> bool:
        """Whether the scope counts ``pipeline``'s occurrences on this deployment (a lookup:
        an export asks it of every occurrence)."""
        if self.pipeline is not None:
            return pipeline == self.pipeline
        if deployment_id is None:
            return False
        return self._chosen_by_deployment.get(deployment_id) == pipeline


@dataclass(frozen=True)
class TaxonTally:
    """One taxon's (None: no taxon's) occurrences in one deployment."""

    taxon_id: int | None
    deployment_id: int
    occurrences: int
    detections: int
    first_night: date
    last_night: date


@dataclass(frozen=True)
class SpeciesCount:
    """A row of the species view: a taxon (None: occurrences whose label names no taxon of
    the list) with what was seen of it and the taxa it rolls up."""

    taxon: Taxon | None
    occurrences: int
    detections: int
    deployments: int
    #: None for a taxon nobody saw in the scope (its own page).
    first_night: date | None
    last_night: date | None
    #: The taxa counted under it (itself, and those rolled up into it).
    members: tuple[int, ...]
    #: The best occurrence's best detection: its crop shows the taxon.
    best_annotation_id: int | None = None
    best_occurrence_id: int | None = None


def rolled_up(taxon: Taxon, rank: Rank | None, taxa: Mapping[int, Taxon]) -> Taxon:
    """The taxon ``taxon`` is counted under when counts roll up to ``rank``: its ancestor of
    that rank, itself when it ranks as high or higher or has no such ancestor."""
    if rank is None or taxon.rank.level <= rank.level:
        return taxon
    for ancestor_id in reversed(taxon.lineage):
        ancestor = taxa.get(ancestor_id)
        if ancestor is not None and ancestor.rank.level <= rank.level:
            return ancestor if ancestor.rank is rank else taxon
    return taxon


def count_species(
    tallies: Sequence[TaxonTally], taxa: Mapping[int, Taxon], rank: Rank | None
) -> list[SpeciesCount]:
    """The species view's rows, most occurrences first (then by name); the occurrences that
    name no taxon last, in one row."""
    groups: dict[int | None, list[TaxonTally]] = {}
    members: dict[int | None, set[int]] = {}
    for tally in tallies:
        taxon = taxa.get(tally.taxon_id) if tally.taxon_id is not None else None
        key = rolled_up(taxon, rank, taxa).id if taxon is not None else None
        groups.setdefault(key, []).append(tally)
        if tally.taxon_id is not None and taxon is not None:
            members.setdefault(key, set()).add(tally.taxon_id)
    rows = [
        SpeciesCount(
            taxon=taxa.get(key) if key is not None else None,
            occurrences=sum(t.occurrences for t in found),
            detections=sum(t.detections for t in found),
            deployments=len({t.deployment_id for t in found}),
            first_night=min(t.first_night for t in found),
            last_night=max(t.last_night for t in found),
            members=tuple(sorted(members.get(key, ()))),
        )
        for key, found in groups.items()
    ]
    return sorted(
        rows,
        key=lambda r: (r.taxon is None, -r.occurrences, r.taxon.scientific_name if r.taxon else ""),
    )


@dataclass(frozen=True)
class TaxonProfile:
    """A taxon's page: its counts, occurrences per night (phenology), per hour of the night
    (activity) and per deployment."""

    count: SpeciesCount
    per_night: list[tuple[date, int]]
    #: Occurrences by the hour of the local clock they were first seen (0-23).
    per_hour: dict[int, int]
    per_deployment: list[tuple[int, int]]
