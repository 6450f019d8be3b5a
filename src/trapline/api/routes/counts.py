"""Counting: which pipeline a project counts by, and the pipelines it could count by."""

from __future__ import annotations

from fastapi import APIRouter

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.params import Id
from trapline.schemas.counts import CountingOut
from trapline.services.ecology import counting

router = APIRouter(tags=["taxa"])


@router.get("/projects/{project_id}/counting")
def get_counting(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> CountingOut:
    """The pipeline a project counts by, and each pipeline's occurrences."""
    return CountingOut.of(counting.counting_summary(db, caller, project_id))
