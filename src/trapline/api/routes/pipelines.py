"""Pipelines, processing services and their tokens."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from trapline.api.bodies import body_bytes, json_body
from trapline.api.deps import CurrentUser, CurrentWorker, DatabaseDep, SettingsDep
from trapline.http.limits import REGISTRATION_BODY_BYTES
from trapline.http.params import MAX_ID, Id, PathSlug
from trapline.protocol.pipelines import PipelineRegistration, PipelineRegistrationResponse
from trapline.schemas.pipelines import (
    PipelineOut,
    PipelineToggle,
    ServiceOut,
    ServiceTokenIn,
    ServiceTokenOut,
    ServiceWithWorkersOut,
    WorkerOut,
)
from trapline.services.core import users
from trapline.services.pipelines import pipelines
from trapline.services.pipelines.service_status import online_window

router = APIRouter(tags=["pipelines"])


@router.post(
    "/projects/{project_id}/pipelines",
    status_code=201,
    max_body_size=REGISTRATION_BODY_BYTES,
    openapi_extra=json_body(PipelineRegistration),
    response_model=PipelineRegistrationResponse,
)
async def register_pipelines(
    request: Request, project_id: Id, caller: CurrentWorker, db: DatabaseDep
) -> PipelineRegistrationResponse:
    """Register a pull-mode processing service's pipelines for a project (idempotent)."""
    # Access is settled before the body is read: an outsider's body is never parsed.
    await run_in_threadpool(pipelines.check_may_register, db, caller, project_id)
    body = PipelineRegistration.model_validate_json(await body_bytes(request))
    return await run_in_threadpool(pipelines.register_pipelines, db, caller, project_id, body)


@router.get("/projects/{project_id}/pipelines")
def list_pipelines(
    project_id: Id, caller: CurrentUser, db: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """The project's pipelines with their services and online status."""
    window = online_window(settings.push.status_interval)
    found = [
        PipelineOut.of(p)
        for p in pipelines.list_pipelines(db, caller, project_id, push_window=window)
    ]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.patch("/projects/{project_id}/pipelines/{slug}", status_code=204)
def toggle_pipeline(
    project_id: Id, slug: PathSlug, body: PipelineToggle, caller: CurrentUser, db: DatabaseDep
) -> Response:
    """Enable or disable a pipeline in a project (managers)."""
    pipelines.set_pipeline_enabled(db, caller, project_id, slug, body.enabled)
    return Response(status_code=204)


@router.get("/processing-services")
def list_services(
    project: Annotated[int, Query(ge=1, le=MAX_ID)],
    caller: CurrentUser,
    db: DatabaseDep,
    settings: SettingsDep,
) -> dict[str, Any]:
    """A project's processing services, their workers and when each was last seen."""
    window = online_window(settings.push.status_interval)
    found = [
        ServiceWithWorkersOut(
            **ServiceOut.of(s).model_dump(), workers=[WorkerOut.of(w) for w in ws]
        )
        for s, ws in pipelines.list_services(db, caller, project, push_window=window)
    ]
    return {"count": len(found), "next": None, "previous": None, "results": found}


@router.post("/projects/{project_id}/service-tokens", status_code=201)
def create_service_token(
    project_id: Id, body: ServiceTokenIn, caller: CurrentUser, db: DatabaseDep
) -> ServiceTokenOut:
    """A token for a processing service, scoped to this project (managers); shown once."""
    account, made = users.create_service_token(db, caller, [project_id], body.name)
    return ServiceTokenOut(
        id=made.token.id,
        user_id=account.id,
        name=made.token.name,
        prefix=made.token.prefix,
        token=made.secret,
    )
