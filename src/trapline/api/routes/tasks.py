"""Worker protocol extensions: claim across jobs, extend leases."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body

from trapline.api.deps import CurrentUser, DatabaseDep, DispatchDep
from trapline.protocol import ExtendRequest, NextTasksRequest, TasksResponse
from trapline.services import tasks

router = APIRouter(tags=["worker protocol"])


@router.post("/tasks/next")
def next_tasks(
    caller: CurrentUser,
    db: DatabaseDep,
    dispatch: DispatchDep,
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Claim tasks across every running job of the given pipelines, shared fairly."""
    size = tasks.check_batch_size(body.get("batch_size"))
    request = NextTasksRequest.model_validate({**body, "batch_size": size})
    claimed = tasks.claim_next(db, dispatch, caller, request.pipelines, size, request.client_info)
    return TasksResponse(tasks=claimed).model_dump()


@router.post("/tasks/extend")
def extend(
    body: ExtendRequest, caller: CurrentUser, db: DatabaseDep, dispatch: DispatchDep
) -> dict[str, list[str]]:
    """Extend leases on tasks you are still working on."""
    extended, lost = tasks.extend_leases(db, dispatch, caller, body.reply_subjects, body.seconds)
    return {"extended": extended, "lost": lost}
