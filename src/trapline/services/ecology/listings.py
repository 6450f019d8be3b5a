"""A project's occurrences and events as listings, and its counts as rows (viewers): each
counts what every count counts (``counting.counting_scope``: one pipeline, without the labels
mapped as no object), so a listing's total, its events' individuals and a count table agree.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import date
from itertools import chain

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.paging import Cursor
from trapline.domain.core.records import User
from trapline.domain.ecology.count_matrix import CountMatrix, count_matrix
from trapline.domain.ecology.events import Event
from trapline.domain.ecology.listings import (
    CountBy,
    CountRow,
    EventOrder,
    OccurrenceFilter,
    OccurrenceOrder,
    count_cells,
)
from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import Rank, Taxon
from trapline.errors import InvalidInput
from trapline.exports.count_table import write_count_matrix, write_count_table
from trapline.services.core.access import require
from trapline.services.ecology.counting import EventCount, counted_events, viewable_scope
from trapline.services.taxa.taxa import taxon_of_project


@dataclass(frozen=True)
class OccurrencePage:
    """A page of a project's occurrences, with the taxa they name."""

    #: How many the filter keeps (None: more than were counted).
    count: int | None
    occurrences: list[Occurrence]
    #: More lie beyond the page in the walking direction.
    more: bool
    taxa: dict[int, Taxon]


@dataclass(frozen=True)
class EventPage:
    """A page of a project's events, each with what it holds (an event with nothing counted
    is not in ``counts``), and the pipeline counted by."""

    count: int
    events: list[Event]
    more: bool
    counts: dict[int, EventCount]
    pipeline: str | None


@dataclass(frozen=True)
class CountTable:
    """A project's counts as rows: individuals per taxon and cell."""

    #: The pipeline counted by (None: nothing tracked yet, and no rows).
    pipeline: str | None
    by: tuple[CountBy, ...]
    rank: Rank | None
    #: Made as they are taken (once): a table can have hundreds of thousands.
    rows: Iterator[CountRow]
    #: The names of the deployments the rows name.
    deployments: dict[int, str]


def list_occurrences(
    db: Database,
    caller: User,
    scope: Scope,
    flt: OccurrenceFilter,
    *,
    order: OccurrenceOrder,
    limit: int,
    cursor: Cursor | None,
    night: date | None = None,
) -> OccurrencePage:
    """A page of the project's occurrences in the scope that the filter keeps, first seen in
    ``night`` when given (viewers).

    A deployment, event or taxon of another project answers as one that does not exist."""
    _check_nights(scope.since, scope.until)
    _check_cursor(cursor)
    if night is not None:
        since, until = scope.since, scope.until
        scope = replace(scope, since=max(since or night, night), until=min(until or night, night))
    with db.read() as repos:
        scope = viewable_scope(repos, caller, scope)
        if flt.event_id is not None:
            event = repos.ecology.events.get(flt.event_id)
            if event is None or event.project_id != scope.project_id:
                require(None, "event", flt.event_id)
        under = None
        if flt.taxon_id is not None:
            taxon = taxon_of_project(repos, scope.project_id, flt.taxon_id, "taxon")
            under = repos.ecology.species.under(taxon)
        empty = scope.since and scope.until and scope.since > scope.until
        if scope.counts_nothing or empty:
            return OccurrencePage(0, [], False, {})
        listings = repos.ecology.listings
        found, more = listings.occurrences(
            scope, flt, under, order=order, limit=limit, cursor=cursor
        )
        total = listings.count_occurrences(scope, flt, under)
        taxa = repos.taxa.taxa.by_ids({o.taxon_id for o in found if o.taxon_id is not None})
        return OccurrencePage(total, found, more, taxa)


def list_events(
    db: Database,
    caller: User,
    scope: Scope,
    *,
    order: EventOrder,
    limit: int,
    cursor: Cursor | None,
) -> EventPage:
    """A page of the project's events in the scope (of its deployment, starting in its
    nights), each with its individuals and taxa as the counting pipeline counts them
    (viewers)."""
    _check_nights(scope.since, scope.until)
    _check_cursor(cursor)
    with db.read() as repos:
        scope = viewable_scope(repos, caller, scope)
        listings = repos.ecology.listings
        found, more = listings.events(scope, order=order, limit=limit, cursor=cursor)
        # The nights bound which events are listed, not what each of them holds.
        whole = replace(scope, since=None, until=None)
        counts = counted_events(repos, whole, [e.id for e in found]) if found else {}
        return EventPage(listings.count_events(scope), found, more, counts, scope.counted_by)


def count_table(
    db: Database, caller: User, scope: Scope, by: Sequence[CountBy], rank: Rank | None
) -> CountTable:
    """The scope's individuals per taxon (rolled up to ``rank``) in each cell of ``by``
    (viewers): read from the tallies, or by the hour from the occurrences."""
    _check_nights(scope.since, scope.until)
    if not by:
        raise InvalidInput("by: name one or more of deployment, event, night, hour")
    with db.read() as repos:
        scope = viewable_scope(repos, caller, scope)
        listings = repos.ecology.listings
        if scope.counts_nothing:
            tallied = []
        elif CountBy.HOUR in by:
            tallied = listings.per_hour(scope, by)
        else:
            tallied = listings.tallied(scope, by)
        taxa = _with_ancestors(repos, {t[4] for t in tallied if t[4] is not None})
        deployments = {}
        if CountBy.DEPLOYMENT in by:
            deployments = _deployment_names(repos, {t[0] for t in tallied})
    rows = chain.from_iterable(count_cells(tallied, taxa, rank))
    return CountTable(scope.counted_by, tuple(by), rank, rows, deployments)


def count_table_csv(
    db: Database, caller: User, scope: Scope, by: Sequence[CountBy], rank: Rank | None
) -> tuple[str, bytes]:
    """``count_table`` as CSV (viewers): (file name, bytes)."""
    table = count_table(db, caller, scope, by, rank)
    out = io.BytesIO()
    write_count_table(table.rows, table.by, table.deployments, out)
    name = "-".join(d.value for d in table.by)
    return f"project-{scope.project_id}-counts-by-{name}.csv", out.getvalue()


def night_matrix(
    db: Database, caller: User, scope: Scope, rank: Rank | None
) -> tuple[str | None, CountMatrix]:
    """The scope's count table by night as a matrix of taxa by nights (viewers): the pipeline
    counted by, and the matrix."""
    table = count_table(db, caller, scope, (CountBy.NIGHT,), rank)
    return table.pipeline, count_matrix(table.rows)


def night_matrix_csv(
    db: Database, caller: User, scope: Scope, rank: Rank | None
) -> tuple[str, bytes]:
    """``night_matrix`` as CSV (viewers): (file name, bytes)."""
    _, matrix = night_matrix(db, caller, scope, rank)
    out = io.BytesIO()
    write_count_matrix(matrix, out)
    return f"project-{scope.project_id}-taxa-by-night.csv", out.getvalue()


def _check_nights(since: date | None, until: date | None) -> None:
    if since and until and since > until:
        raise InvalidInput(
            f"since: the first night ({since}) comes after the last (until, {until})",
            field="since",
        )


def _check_cursor(cursor: Cursor | None) -> None:
    if cursor is not None and cursor.captured_sort is None:
        raise InvalidInput(
            "cursor is not valid; use the next/previous links of a listing as they are"
        )


def _with_ancestors(repos: Repos, taxon_ids: set[int]) -> dict[int, Taxon]:
    """These taxa and their ancestors in outline (names, ranks, lineages: what a table's rows
    and rolling up read)."""
    taxa = repos.ecology.species.outlines(taxon_ids)
    ancestors = {a for t in taxa.values() for a in t.lineage} - set(taxa)
    return taxa | repos.ecology.species.outlines(ancestors)


def _deployment_names(repos: Repos, deployment_ids: set[int | None]) -> dict[int, str]:
    found = {}
    for deployment_id in sorted(d for d in deployment_ids if d is not None):
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is not None:
            found[deployment_id] = deployment.name
    return found
