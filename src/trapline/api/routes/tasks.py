"""Worker protocol extensions: claim across jobs, extend leases."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from trapline.api.bodies import json_body, json_object, json_response
from trapline.api.deps import CurrentUser, DatabaseDep, DispatchDep
from trapline.protocol import ExtendRequest, NextTasksRequest, TasksResponse
from trapline.services import tasks

router = APIRouter(tags=["worker protocol"])


@router.post("/tasks/next", openapi_extra=json_body(NextTasksRequest), response_model=TasksResponse)
async def next_tasks(
    request: Request, caller: CurrentUser, db: DatabaseDep, dispatch: DispatchDep
) -> Response:
    """Claim tasks across every running job of the given pipelines, shared fairly."""
    body = await json_object(request)
    size = tasks.check_batch_size(body.get("batch_size"))
    claim = NextTasksRequest.model_validate({**body, "batch_size": size})
    claimed = await run_in_threadpool(
        tasks.claim_next, db, dispatch, caller, claim.pipelines, size, claim.client_info
    )
    return json_response(TasksResponse(tasks=claimed))


@router.post("/tasks/extend")
def extend(
    body: ExtendRequest, caller: CurrentUser, db: DatabaseDep, dispatch: DispatchDep
) -> dict[str, list[str]]:
    """Extend leases on tasks you are still working on."""
    extended, lost = tasks.extend_leases(db, dispatch, caller, body.reply_subjects, body.seconds)
    return {"extended": extended, "lost": lost}
