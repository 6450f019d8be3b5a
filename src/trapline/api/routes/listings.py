"""A project's occurrences and events as listings: filtered, ordered, paged by cursor."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.ecology.listings import EventOrder, OccurrenceFilter, OccurrenceOrder
from trapline.domain.ecology.occurrences import DeterminedBy
from trapline.domain.ecology.species import Scope
from trapline.http.pagination import decode_cursor, keyed_page
from trapline.http.params import (
    DEFAULT_LIMIT,
    Id,
    Limit,
    QueryCursor,
    QueryDate,
    QueryId,
    QueryPipeline,
)
from trapline.schemas.listings import ListedEventOut, ListedOccurrenceOut
from trapline.services.ecology import listings

router = APIRouter(tags=["events"])

#: A night, named by its evening's date.
Night = QueryDate


@router.get("/projects/{project_id}/occurrences")
def list_occurrences(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment: QueryId = None,
    event: QueryId = None,
    taxon: Annotated[
        int | None, Query(ge=1, le=2**63 - 1, description="a taxon, with every taxon under it")
    ] = None,
    night: Night = None,
    since: Night = None,
    until: Night = None,
    determined_by: Annotated[
        Literal["person", "model"] | None, Query(description="whose word determines it")
    ] = None,
    min_score: Annotated[
        float | None,
        Query(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="the models' score at least this; a person's determination is kept",
        ),
    ] = None,
    needs_identification: Annotated[
        bool | None,
        Query(description="true: no person's word, or people disagree; false: the others"),
    ] = None,
    pipeline: QueryPipeline = None,
    ordering: OccurrenceOrder = OccurrenceOrder.FIRST_SEEN,
    limit: Limit = DEFAULT_LIMIT,
    cursor: QueryCursor = None,
) -> dict[str, Any]:
    """The project's occurrences of its counting pipeline, filtered; follow ``next`` and
    ``previous`` to page at any depth.

    ``night`` (one) and ``since``/``until`` (both included) are nights, named by their
    evening's date, the occurrence first seen in. A deployment, event or taxon of another
    project answers 404, as one that does not exist.
    """
    flt = OccurrenceFilter(
        event_id=event,
        taxon_id=taxon,
        determined_by=DeterminedBy(determined_by) if determined_by else None,
        min_score=min_score,
        needs_identification=needs_identification,
    )
    position = decode_cursor(cursor)
    page = listings.list_occurrences(
        db,
        caller,
        Scope(project_id, deployment, since, until, pipeline=pipeline),
        flt,
        order=ordering,
        limit=limit,
        cursor=position,
        night=night,
    )
    results = [ListedOccurrenceOut.listed(o, page.taxa) for o in page.occurrences]
    keys = [(o.first_seen_at, o.id) for o in page.occurrences]
    return keyed_page(request, page.count, keys, results, more=page.more, cursor=position)


@router.get("/projects/{project_id}/events")
def list_events(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment: QueryId = None,
    since: Night = None,
    until: Night = None,
    pipeline: QueryPipeline = None,
    ordering: EventOrder = EventOrder.START,
    limit: Limit = DEFAULT_LIMIT,
    cursor: QueryCursor = None,
) -> dict[str, Any]:
    """The project's events, each with its individuals and taxa as the counting pipeline
    counts them; follow ``next`` and ``previous`` to page.

    ``since`` and ``until`` (both included) are the nights, named by their evening's date, the
    event starts in. A deployment of another project answers 404, as one that does not exist.
    """
    position = decode_cursor(cursor)
    page = listings.list_events(
        db,
        caller,
        Scope(project_id, deployment, since, until, pipeline=pipeline),
        order=ordering,
        limit=limit,
        cursor=position,
    )
    results = []
    for e in page.events:
        held = page.counts.get(e.id)
        counted = (held.individuals, held.taxa) if held else (0, [])
        results.append(ListedEventOut.listed(e, *counted, page.pipeline))
    keys = [(e.starts_at, e.id) for e in page.events]
    return keyed_page(request, page.count, keys, results, more=page.more, cursor=position)
