"""The species view of a project, and a taxon's page (``domain/ecology/species.py``)."""

from __future__ import annotations

from dataclasses import replace

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import User
from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.ecology.species import Scope, SpeciesCount, TaxonProfile, count_species
from trapline.domain.taxa.taxa import Rank, Taxon
from trapline.errors import InvalidInput
from trapline.services.ecology.counting import viewable_scope
from trapline.services.taxa.taxa import taxon_of_project

#: The most occurrences a taxon's page shows the crops of.
RECENT_CROPS = 24


def species(
    db: Database,
    caller: User,
    scope: Scope,
    *,
    rank: Rank | None = None,
    limit: int,
    offset: int = 0,
) -> tuple[int, list[SpeciesCount]]:
    """The taxa of the project's occurrences in the scope, rolled up to ``rank`` when given,
    in the species view's order (viewers): how many there are, and those from ``offset`` on,
    at most ``limit``, each with its best crop.

    Without rolling up, the database counts and orders the rows (one grouped read of the
    tallies) and answers the page's; rolled up, the rows are counted here from the tallies
    per taxon and deployment and the taxa's lineages. Either way only the page's taxa are
    looked up for their best crop."""
    _check(scope)
    with db.read() as repos:
        scope = viewable_scope(repos, caller, scope)
        if rank is None:
            total, page = repos.ecology.species.counted(scope, limit, offset)
            best = repos.ecology.species.best(
                scope, sorted({m for row in page for m in row.members})
            )
            return total, [_with_best(row, best) for row in page]
        tallies = repos.ecology.species.tallies(scope)
        outlines = _outlines_of(repos, {t.taxon_id for t in tallies if t.taxon_id is not None})
        rows = count_species(tallies, outlines, rank)
        shown = rows[offset : offset + limit]
        taxa = repos.taxa.taxa.by_ids({row.taxon.id for row in shown if row.taxon is not None})
        best = repos.ecology.species.best(scope, sorted({m for row in shown for m in row.members}))
        return len(rows), [_with_best(_in_full(row, taxa), best) for row in shown]


def taxon_profile(
    db: Database, caller: User, scope: Scope, taxon_id: int
) -> tuple[TaxonProfile, list[Occurrence]]:
    """A taxon of the project's list with everything under it: its counts, phenology,
    activity by hour and deployments, and its latest occurrences (viewers)."""
    _check(scope)
    with db.read() as repos:
        scope = viewable_scope(repos, caller, scope)
        taxon = taxon_of_project(repos, scope.project_id, taxon_id, "taxon")
        tallies = repos.ecology.species.tallies(scope, repos.ecology.species.under(taxon))
        seen = sorted({t.taxon_id for t in tallies if t.taxon_id is not None})
        (counted,) = count_species(tallies, {i: taxon for i in seen}, None) or [
            SpeciesCount(taxon, 0, 0, 0, None, None, ())
        ]
        count = replace(counted, taxon=taxon, members=tuple(seen))
        profile = TaxonProfile(
            count=_with_best(count, repos.ecology.species.best(scope, seen)),
            per_night=repos.ecology.species.per_night(scope, seen),
            per_hour=repos.ecology.species.per_hour(scope, seen),
            per_deployment=repos.ecology.species.per_deployment(scope, seen),
        )
        return profile, repos.ecology.species.recent(scope, seen, RECENT_CROPS)


def _check(scope: Scope) -> None:
    if scope.since and scope.until and scope.since > scope.until:
        raise InvalidInput("since: the first night comes after the last (until)")


def _outlines_of(repos: Repos, taxon_ids: set[int]) -> dict[int, Taxon]:
    """These taxa and their ancestors in outline (what ordering and rolling up read)."""
    taxa = repos.ecology.species.outlines(taxon_ids)
    ancestors = {a for t in taxa.values() for a in t.lineage} - set(taxa)
    return taxa | repos.ecology.species.outlines(ancestors)


def _in_full(row: SpeciesCount, taxa: dict[int, Taxon]) -> SpeciesCount:
    """The row with its taxon in full (its vernacular names, its ids elsewhere)."""
    if row.taxon is None or row.taxon.id not in taxa:
        return row
    return replace(row, taxon=taxa[row.taxon.id])


def _with_best(row: SpeciesCount, best: dict[int, tuple[int, int, float | None]]) -> SpeciesCount:
    """The row with the crop of its members' most confident occurrence, else of its first
    member's first."""
    found = [best[m] for m in row.members if m in best]
    if not found:
        return row
    scored = [f for f in found if f[2] is not None]
    occurrence_id, annotation_id, _ = max(scored, key=lambda f: f[2] or 0) if scored else found[0]
    return replace(row, best_annotation_id=annotation_id, best_occurrence_id=occurrence_id)
