"""A project's occurrences and events as listings, walked by cursor, and what its count
tables are made of: the tallies (by deployment, event, night) or, by the hour, the
occurrences themselves.

Listings walk an index in their order from the cursor's item, so a page deep in the list costs
what the first does. Night filters are ranges of wall-clock times (a night runs from noon to
noon), which the indexes of first sightings and event starts can narrow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, String, func, null, select, type_coerce
from sqlalchemy.orm import Session

from trapline.db.nights import hour_of, night_of, sql_date
from trapline.db.repositories.ecology.choices import kept_total
from trapline.db.repositories.ecology.counts import occurrence_terms, sums_of, tally_terms
from trapline.db.repositories.ecology.events import to_event
from trapline.db.repositories.ecology.occurrences import to_occurrence
from trapline.db.tables import EventRow, OccurrenceRow, OccurrenceTallyRow, TaxonRow
from trapline.db.types import chunks, count_up_to
from trapline.domain.core.paging import Cursor
from trapline.domain.ecology.events import Event
from trapline.domain.ecology.listings import (
    COUNT_DIMENSIONS,
    CountBy,
    EventOrder,
    OccurrenceFilter,
    OccurrenceOrder,
    Tallied,
    night_bounds,
)
from trapline.domain.ecology.occurrences import DeterminedBy, Occurrence
from trapline.domain.ecology.species import Scope


class ListingRepo:
    """Pages of a project's occurrences and events, and the rows of its count tables."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # -- occurrences -------------------------------------------------------------------------

    def occurrences(
        self,
        scope: Scope,
        flt: OccurrenceFilter,
        under: Select[Any] | None,
        *,
        order: OccurrenceOrder,
        limit: int,
        cursor: Cursor | None,
    ) -> tuple[list[Occurrence], bool]:
        """A page of the scope's occurrences that the filter keeps (``under``: of these taxa,
        a query of their ids), and whether more lie beyond it in the walking direction."""
        o = OccurrenceRow
        query = select(o).where(*_occurrence_terms(scope, flt, under))
        rows, more = _walk(self.session, query, o.first_seen_at, o.id, order.descending,
                           limit, cursor)  # fmt: skip
        return [to_occurrence(r) for r in rows], more

    def count_occurrences(
        self, scope: Scope, flt: OccurrenceFilter, under: Select[Any] | None
    ) -> int | None:
        """How many occurrences the filter keeps: read from the kept sums or the tallies when
        they hold what it asks, else counted as far as ``paging.COUNTED_UP_TO`` (None past
        it). Over every night, the kept total (``kept_total``) or a deployment's kept sums
        per label, which do not grow with the project's events (the tallies' sum read every
        event's: 5.8 -> 30.4 ms from 100,000 to 1,000,000 photos); an event's or a taxon's
        tallies by their own index."""
        if not flt.tallied:
            matches = select(OccurrenceRow.id).where(*_occurrence_terms(scope, flt, under))
            return count_up_to(self.session, matches)
        if flt.event_id is None and under is None:
            whole = scope.deployment_id is None and scope.since is None and scope.until is None
            if whole and not scope.hidden_labels:
                total = kept_total(scope)
            else:
                sums = sums_of(scope)
                total = select(func.sum(sums.occurrences)).where(*sums.terms)
            return int(self.session.scalar(total) or 0)
        t = OccurrenceTallyRow
        terms = tally_terms(scope, within_event=flt.event_id is not None)
        if flt.event_id is not None:
            terms.append(t.event_id == flt.event_id)
        if under is not None:
            terms.append(t.taxon_id.in_(under))
        return int(self.session.scalar(select(func.sum(t.occurrences)).where(*terms)) or 0)

    # -- events ------------------------------------------------------------------------------

    def events(
        self, scope: Scope, *, order: EventOrder, limit: int, cursor: Cursor | None
    ) -> tuple[list[Event], bool]:
        """A page of the scope's events (its project's, of its deployment, starting in its
        nights), and whether more lie beyond it in the walking direction."""
        e = EventRow
        query = select(e).where(*_event_terms(scope))
        rows, more = _walk(self.session, query, e.starts_at, e.id, order.descending, limit, cursor)
        return [to_event(r) for r in rows], more

    def count_events(self, scope: Scope) -> int:
        """How many events the scope holds."""
        counted = select(func.count()).select_from(EventRow).where(*_event_terms(scope))
        return int(self.session.scalar(counted) or 0)

    def taxon_names(self, taxon_ids: Iterable[int]) -> dict[int, str]:
        """The scientific names of these taxa (a page names hundreds: their names only, not
        their records)."""
        t = TaxonRow
        found: dict[int, str] = {}
        for part in chunks(sorted(set(taxon_ids))):
            rows = self.session.execute(select(t.id, t.scientific_name).where(t.id.in_(part)))
            found.update({int(i): str(name) for i, name in rows})
        return found

    # -- count tables ------------------------------------------------------------------------

    def tallied(self, scope: Scope, by: Sequence[CountBy]) -> list[Tallied]:
        """The scope's occurrences per taxon and label in each cell of deployment, event and
        night (those of ``by``): one grouped read of the tallies."""
        t = OccurrenceTallyRow
        columns = {CountBy.DEPLOYMENT: t.deployment_id, CountBy.EVENT: t.event_id,
                   CountBy.NIGHT: t.night}  # fmt: skip
        return self._grouped(by, columns, t.taxon_id, t.label, func.sum(t.occurrences),
                             tally_terms(scope))  # fmt: skip

    def per_hour(self, scope: Scope, by: Sequence[CountBy]) -> list[Tallied]:
        """As ``tallied``, split by the hour of the camera's clock each occurrence was first
        seen (``by`` holds ``hour``): one grouped read of the occurrences."""
        o = OccurrenceRow
        columns = {
            CountBy.DEPLOYMENT: o.deployment_id,
            CountBy.EVENT: o.event_id,
            CountBy.NIGHT: night_of(self.session, o.first_seen_at),
            CountBy.HOUR: hour_of(self.session, o.first_seen_at),
        }
        terms = _occurrence_terms(scope, OccurrenceFilter(), None)
        return self._grouped(by, columns, o.taxon_id, o.label, func.count(), terms)

    def _grouped(
        self,
        by: Sequence[CountBy],
        columns: dict[CountBy, Any],
        taxon: Any,
        label: Any,
        total: Any,
        terms: list[ColumnElement[bool]],
    ) -> list[Tallied]:
        # The dimensions not asked for are NULL columns, so that every row comes as a cell
        # already; ordered by the whole group, the cells come one after another.
        cell = [type_coerce(columns[d], String) if d is CountBy.NIGHT else columns[d]
                for d in by]  # fmt: skip
        keys = [c if c is not None else null() for c in _padded(by, cell)]
        rows: Any = self.session.execute(
            select(*keys, taxon, label, total)
            .where(*terms)
            .group_by(*cell, taxon, label)
            .order_by(*cell, taxon, label)
        )
        days: dict[Any, date | None] = {None: None}
        found: list[Tallied] = []
        for deployment, event, night, hour, taxon_id, text, n in rows:
            day = days.get(night)
            if day is None and night is not None:
                day = days[night] = sql_date(night)
            found.append((deployment, event, day, hour, taxon_id, text, int(n)))
        return found


def _padded(by: Sequence[CountBy], columns: list[Any]) -> list[Any]:
    """``columns`` (one per dimension of ``by``) in the place of each dimension, None where
    ``by`` has none."""
    given = dict(zip(by, columns, strict=True))
    return [given.get(d) for d in COUNT_DIMENSIONS]


def _occurrence_terms(
    scope: Scope, flt: OccurrenceFilter, under: Select[Any] | None
) -> list[ColumnElement[bool]]:
    """What keeps an occurrence in a listing: the counting scope (as its tallies count it),
    then the filter."""
    o = OccurrenceRow
    terms = occurrence_terms(scope, within_event=flt.event_id is not None)
    start, end = night_bounds(scope.since, scope.until)
    if start is not None:
        terms.append(o.first_seen_at >= start)
    if end is not None:
        terms.append(o.first_seen_at < end)
    if flt.event_id is not None:
        terms.append(o.event_id == flt.event_id)
    if under is not None:
        terms.append(o.taxon_id.in_(under))
    if flt.determined_by is not None:
        terms.append(o.determined_by == flt.determined_by.value)
    if flt.min_score is not None:
        terms.append((o.determined_by == DeterminedBy.PERSON.value) | (o.score >= flt.min_score))
    if flt.needs_identification is not None:
        # As the identification queue takes them: no person's word, or people disagree.
        needs = o.disputed | o.identified_by.is_(None)
        terms.append(needs if flt.needs_identification else ~needs)
    return terms


def _event_terms(scope: Scope) -> list[ColumnElement[bool]]:
    e = EventRow
    terms = [e.project_id == scope.project_id]
    if scope.deployment_id is not None:
        terms.append(e.deployment_id == scope.deployment_id)
    start, end = night_bounds(scope.since, scope.until)
    if start is not None:
        terms.append(e.starts_at >= start)
    if end is not None:
        terms.append(e.starts_at < end)
    return terms


def _walk(
    session: Session,
    query: Select[Any],
    sort: Any,
    key: Any,
    descending: bool,
    limit: int,
    cursor: Cursor | None,
) -> tuple[list[Any], bool]:
    """A page of ``query`` in (sort, key) order from the cursor's item, and whether more lie
    beyond it. The bound on ``sort`` alone lets the index seek; the tie is settled by key."""
    backwards = cursor is not None and cursor.backwards
    down = descending != backwards
    if cursor is not None and cursor.captured_sort is not None:
        at = cursor.captured_sort
        if down:
            query = query.where(sort <= at, (sort < at) | (key < cursor.id))
        else:
            query = query.where(sort >= at, (sort > at) | (key > cursor.id))
    ordering = (sort.desc(), key.desc()) if down else (sort.asc(), key.asc())
    rows = list(session.scalars(query.order_by(*ordering).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    if backwards:
        rows.reverse()
    return rows, more
