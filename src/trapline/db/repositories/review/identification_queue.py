"""The queue of occurrences that need a person's look, read in pieces that each follow an
index, so that a page costs what it shows and not what the project holds.

The queue's order: people disagreeing first; then no taxon, or one above species rank
("vague"); then the least sure (no score counts as 0); then by id. An occurrence a person
identified, undisputed, needs no look. Its pieces: the occurrences a person determined (few:
reviewed or identified ones), and the models' ones of each vague taxon and of every other
taxon, each the first ``offset + limit`` in score order. Merged, their first ``offset +
limit`` are the queue's.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, func, select
from sqlalchemy.orm import Session

from trapline.db.repositories.ecology.choices import kept_total, pipeline_terms
from trapline.db.repositories.ecology.counts import sums_of
from trapline.db.repositories.ecology.occurrences import to_occurrence
from trapline.db.tables import LabelTallyRow, OccurrenceRow, TaxonRow
from trapline.domain.ecology.occurrences import DeterminedBy, LabelGroup, Occurrence
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import Rank

#: The rank level of a species: an occurrence determined above it still needs a look.
SPECIES_LEVEL = Rank.SPECIES.level
#: Who determined an occurrence when a person did (the queue reads theirs apart).
PERSON = DeterminedBy.PERSON
#: What the queue's order reads of an occurrence: its pieces read these, and only the
#: occurrences a page shows are read whole (making a whole occurrence of each piece's first
#: was most of a page).
_ORDERED_BY: tuple[Any, ...] = (
    OccurrenceRow.id,
    OccurrenceRow.disputed,
    OccurrenceRow.taxon_id,
    OccurrenceRow.score,
)
#: The share of the models' occurrences under which the precise ones are read by taxon
#: rather than found walking every one in score order.
_SPARSE = 0.1


def read_queue(
    session: Session, scope: Scope, *, limit: int, offset: int
) -> tuple[int, list[Occurrence]]:
    """How many occurrences of the scope need a look, and those from ``offset`` on, at most
    ``limit``, in the queue's order."""
    if scope.counts_nothing:
        return 0, []
    o = OccurrenceRow
    model, people = _determined_by(scope, DeterminedBy.MODEL), _determined_by(scope, PERSON)
    # Every occurrence the models determine needs a look (no one identified it); of those a
    # person determined, the disputed and the reviewed but unidentified ones do.
    settled = session.scalar(
        select(func.count()).where(people, o.identified_by.is_not(None), ~o.disputed)
    )
    kept = session.scalar(kept_total(scope))
    total = int(kept or 0) - int(settled or 0)
    wanted = offset + limit
    if total <= 0 or offset >= total:
        return max(total, 0), []
    vague_taxa = _vague_taxa(session, scope)
    # Each piece's first ``wanted`` by what orders them (people's found in the index of
    # determinations alone: they grow with what people did); the page's rows read whole last.
    found = list(session.execute(people_first(scope, vague_taxa, wanted)))
    for taxon in (None, *vague_taxa):
        of_taxon = o.taxon_id.is_(None) if taxon is None else o.taxon_id == taxon
        found += _surest_last(session, model & of_taxon, wanted)
    found += _precise(session, scope, model, vague_taxa, wanted, int(kept or 0))
    found.sort(
        key=lambda r: (
            not r.disputed,
            r.taxon_id is not None and r.taxon_id not in vague_taxa,  # precise, after vague
            r.score or 0.0,
            r.id,
        )
    )
    ids = [int(r.id) for r in found[offset:wanted]]
    whole = _whole(session, ids)
    return total, [whole[i] for i in ids]


def read_label_groups(
    session: Session, scope: Scope, *, limit: int, offset: int, per_label: int, shown: int
) -> tuple[int, list[LabelGroup]]:
    """The occurrences of the queue the models determine (all of theirs: no one identified
    them), by label and taxon, most first: how many groups, and those from ``offset`` on, at
    most ``limit``, each with the ids of its first ``per_label`` occurrences in the queue's
    order and the first ``shown`` of those whole (only ids and scores are read of the rest:
    making a whole occurrence of each of 500 a group took most of the page).

    A group's count is its label's kept sum less the occurrences a person determined (few),
    so no occurrence is read to count."""
    if scope.counts_nothing:
        return 0, []
    o = OccurrenceRow
    sums = sums_of(Scope(scope.project_id, pipeline=scope.pipeline, chosen=scope.chosen))
    counted: dict[tuple[str | None, int | None], int] = {
        (label, taxon): int(n)
        for label, taxon, n in session.execute(
            select(sums.label, sums.taxon_id, func.sum(sums.occurrences))
            .where(*sums.terms)
            .group_by(sums.label, sums.taxon_id)
        )
    }
    people = _determined_by(scope, PERSON)
    for label, taxon, n in session.execute(
        select(o.label, o.taxon_id, func.count()).where(people).group_by(o.label, o.taxon_id)
    ):
        counted[(label, taxon)] = counted.get((label, taxon), 0) - int(n)
    groups = sorted(
        ((key, n) for key, n in counted.items() if n > 0),
        key=lambda g: (-g[1], g[0][0] is None, g[0][0] or "", g[0][1] is None, g[0][1] or 0),
    )
    model = _determined_by(scope, DeterminedBy.MODEL)
    chosen = groups[offset : offset + limit]
    members = []
    for (label, taxon), _ in chosen:
        # "is", not "is not distinct from", which PostgreSQL's indexes do not serve.
        of_group = (o.label.is_(None) if label is None else o.label == label) & (
            o.taxon_id.is_(None) if taxon is None else o.taxon_id == taxon
        )
        found = _surest_last(session, model & of_group, per_label)
        found.sort(key=lambda r: (r.score or 0.0, r.id))
        members.append([int(r.id) for r in found[:per_label]])
    whole = _whole(session, [i for ids in members for i in ids[:shown]])
    page = [
        LabelGroup(label, taxon, n, ids, [whole[i] for i in ids[:shown]])
        for ((label, taxon), n), ids in zip(chosen, members, strict=True)
    ]
    return len(groups), page


def _determined_by(scope: Scope, who: DeterminedBy) -> ColumnElement[bool]:
    """The scope's occurrences ``who`` determined. One a person rejected counts nowhere: the
    kept sums leave it out, and so does the queue."""
    o = OccurrenceRow
    return and_(
        o.project_id == scope.project_id,
        o.rejected.is_(None),
        *pipeline_terms(scope, o.pipeline, o.deployment_id),
        o.determined_by == who.value,
    )


def people_first(scope: Scope, vague_taxa: set[int], wanted: int) -> Select[Any]:
    """What orders the first ``wanted`` of people's determinations that need a look (disputed,
    or reviewed but not identified), in the queue's order: every column it reads is in the
    index of determinations (``vague_taxa``: the taxa above species rank the scope names)."""
    o = OccurrenceRow
    # Vague (0): no taxon, or one above species rank. An empty IN is written as a subquery the
    # planners do not see through: left out when empty.
    vague = [(o.taxon_id.is_(None), 0)]
    if vague_taxa:
        vague.append((o.taxon_id.in_(sorted(vague_taxa)), 0))
    return (
        select(*_ORDERED_BY)
        .where(_determined_by(scope, PERSON), o.disputed | o.identified_by.is_(None))
        .order_by(o.disputed.desc(), case(*vague, else_=1), func.coalesce(o.score, 0.0), o.id)
        .limit(wanted)
    )


def _vague_taxa(session: Session, scope: Scope) -> set[int]:
    """The taxa above species rank the scope's occurrences name (from the kept sums)."""
    k = LabelTallyRow
    named = select(k.taxon_id).where(
        k.project_id == scope.project_id,
        k.occurrences > 0,
        *pipeline_terms(scope, k.pipeline, k.deployment_id),
    )
    return set(
        session.scalars(
            select(TaxonRow.id).where(TaxonRow.id.in_(named), TaxonRow.rank_level < SPECIES_LEVEL)
        )
    )


def _surest_last(session: Session, terms: ColumnElement[bool], wanted: int) -> list[Any]:
    """What orders the first ``wanted`` of these occurrences (``_ORDERED_BY``), least sure
    first: those without a score (as 0), then the scored ones in score order (each a range of
    an index by score)."""
    o, read = OccurrenceRow, select(*_ORDERED_BY)
    # By "id + 0": ordered by the id itself, the planners walk the primary key (or an index
    # of the project, rowid last) past every occurrence of the project to find a few unscored
    # ones; this way they find them by the index of their terms and sort those.
    unscored = session.execute(
        read.where(terms, o.score.is_(None)).order_by(o.id + 0).limit(wanted)
    ).all()
    scored = session.execute(
        read.where(terms, o.score.is_not(None)).order_by(o.score, o.id).limit(wanted)
    ).all()
    return [*unscored, *scored]


def _whole(session: Session, ids: list[int]) -> dict[int, Occurrence]:
    """These occurrences whole, by id."""
    if not ids:
        return {}
    o = OccurrenceRow
    return {r.id: to_occurrence(r) for r in session.scalars(select(o).where(o.id.in_(ids)))}


def _precise(
    session: Session,
    scope: Scope,
    model: ColumnElement[bool],
    vague_taxa: set[int],
    wanted: int,
    everyone: int,
) -> list[Any]:
    """The first ``wanted`` of the models' occurrences that name a taxon of species rank or
    below, least sure first (``everyone``: the scope's occurrences, by the kept sums): found
    walking the models' occurrences in score order, or, when they are a small share of those
    (a walk would pass over many), among their taxa's."""
    o, k = OccurrenceRow, LabelTallyRow
    kept = and_(
        k.project_id == scope.project_id, *pipeline_terms(scope, k.pipeline, k.deployment_id)
    )
    named: ColumnElement[bool] = kept & (k.taxon_id != 0)
    named_taxon: ColumnElement[bool] = o.taxon_id.is_not(None)
    if vague_taxa:  # an empty NOT IN is written as a subquery the planners do not see through
        named = named & k.taxon_id.not_in(sorted(vague_taxa))
        named_taxon = named_taxon & o.taxon_id.not_in(sorted(vague_taxa))
    precise = session.scalar(select(func.sum(k.occurrences)).where(named)) or 0
    if not precise:
        return []
    if precise >= _SPARSE * everyone:
        return _surest_last(session, model & named_taxon, wanted)
    of_taxa = select(k.taxon_id).where(named, k.occurrences > 0)
    return _surest_last(session, model & o.taxon_id.in_(of_taxa), wanted)
