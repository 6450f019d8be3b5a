"""What models found, listed across a project."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.processing.results import AnnotationFilter, AnnotationType
from trapline.http.pagination import decode_cursor, keyed_page, offset_page
from trapline.http.params import (
    DEFAULT_LIMIT,
    Id,
    Limit,
    ListingOffset,
    QueryCursor,
    QueryId,
    QueryText,
    QueryTime,
)
from trapline.schemas.results import AnnotationOut
from trapline.services.callbacks import analyses

router = APIRouter(tags=["annotations"])


@router.get("/projects/{project_id}/annotations")
def list_annotations(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    type: AnnotationType | None = None,
    label: QueryText = None,
    min_confidence: float | None = Query(None, ge=0, le=1),
    job: QueryId = None,
    deployment: QueryId = None,
    captured_after: QueryTime = None,
    captured_before: QueryTime = None,
    model: QueryText = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: ListingOffset = 0,
    cursor: QueryCursor = None,
) -> dict[str, Any]:
    """Annotations of a project, filtered by type, label, confidence, job, deployment, time,
    model (of callback analyses); follow ``next``/``previous`` to page at any depth. ``count``
    is null past 10,000 matches (they are not counted)."""
    flt = AnnotationFilter(
        type=type,
        label=label,
        min_confidence=min_confidence,
        job_id=job,
        deployment_id=deployment,
        captured_after=captured_after.replace(tzinfo=None) if captured_after else None,
        captured_before=captured_before.replace(tzinfo=None) if captured_before else None,
        model_name=model,
    )
    position = decode_cursor(cursor)
    total, found, more = analyses.list_annotations(
        db, caller, project_id, flt, limit=limit, offset=offset, cursor=position
    )
    results = [AnnotationOut.of(a) for a in found]
    if "offset" in request.query_params and position is None:
        return offset_page(request, total, results, limit, offset, more=more)
    keys = [(None, a.id) for a in found]
    return keyed_page(request, total, keys, results, more=more, cursor=position, offset=offset)
