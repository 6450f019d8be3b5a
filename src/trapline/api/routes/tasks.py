"""The worker protocol: claims (per job and across jobs), results, lease extension.

This router is the first the app matches requests against: workers make most of the
requests a busy server sees, and FastAPI tries routes in order.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from trapline.api.bodies import body_bytes, json_body, json_object, json_response, whole_number
from trapline.api.deps import (
    AccessDep,
    ClaimsDep,
    CurrentWorker,
    DatabaseDep,
    DispatchDep,
    ResultsDep,
)
from trapline.errors import InvalidInput
from trapline.http.limits import RESULTS_BODY_BYTES
from trapline.http.params import Id
from trapline.protocol.results import ResultsRequest, ResultsResponse
from trapline.protocol.tasks import ExtendRequest, NextTasksRequest, TasksRequest, TasksResponse
from trapline.services.processing import result_body, tasks

router = APIRouter(tags=["worker protocol"])

#: A body that is a JSON array (matched without copying the body, as ``strip`` would).
_BARE_LIST = re.compile(rb"\s*\[")

# The two calls every worker makes for every batch parse and answer JSON straight through
# pydantic-core, skipping FastAPI's generic body and response handling.


@router.post(
    "/jobs/{job_id}/tasks",
    openapi_extra=json_body(TasksRequest),
    response_model=TasksResponse,
)
async def claim_tasks(
    request: Request,
    job_id: Id,
    caller: CurrentWorker,
    db: DatabaseDep,
    dispatch: DispatchDep,
    claims: ClaimsDep,
) -> Response:
    """Claim a batch of the job's tasks under a lease (the worker protocol)."""
    body = await json_object(request)
    size = tasks.check_batch_size(whole_number(body.get("batch_size")))
    claim = TasksRequest.model_validate({**body, "batch_size": size})
    with claims.admit():
        claimed = await run_in_threadpool(
            tasks.claim_for_job, dispatch, caller, job_id, size, claim.client_info
        )
    return json_response(TasksResponse(tasks=claimed), exclude_none=True)


@router.post(
    "/jobs/{job_id}/result",
    openapi_extra=json_body(ResultsRequest),
    response_model=ResultsResponse,
    max_body_size=RESULTS_BODY_BYTES,
)
async def post_results(
    request: Request, job_id: Id, caller: CurrentWorker, access: AccessDep, store: ResultsDep
) -> Response:
    """Post results of claimed tasks; each item is answered saved, duplicate, failed or rejected."""
    # Whether the caller may work on this job is settled before the body is read: a caller
    # who may not is answered without the server reading or parsing what they sent.
    await run_in_threadpool(access.worker_job, caller, job_id)
    raw = await body_bytes(request)
    if _BARE_LIST.match(raw):
        raise InvalidInput('the body must be an object {"results": [...]}, not a bare list')

    def receive() -> ResultsResponse:
        # Reading and storing results takes milliseconds to seconds: in the thread pool, not
        # the event loop, so other requests are not held up meanwhile.
        return store.receive(caller, job_id, result_body.read_post(raw))

    return json_response(await run_in_threadpool(receive))


@router.post(
    "/tasks/next",
    openapi_extra=json_body(NextTasksRequest),
    response_model=TasksResponse,
)
async def next_tasks(
    request: Request,
    caller: CurrentWorker,
    db: DatabaseDep,
    dispatch: DispatchDep,
    claims: ClaimsDep,
) -> Response:
    """Claim tasks across every running job of the given pipelines, shared fairly."""
    body = await json_object(request)
    size = tasks.check_batch_size(whole_number(body.get("batch_size")))
    claim = NextTasksRequest.model_validate({**body, "batch_size": size})
    with claims.admit():
        claimed = await run_in_threadpool(
            tasks.claim_next, db, dispatch, caller, claim.pipelines, size, claim.client_info
        )
    return json_response(TasksResponse(tasks=claimed))


@router.post("/tasks/extend")
def extend(
    body: ExtendRequest, caller: CurrentWorker, db: DatabaseDep, dispatch: DispatchDep
) -> dict[str, list[str]]:
    """Extend leases on tasks you are still working on."""
    extended, lost = tasks.extend_leases(db, dispatch, caller, body.reply_subjects, body.seconds)
    return {"extended": extended, "lost": lost}
