"""A project's processing services; push-mode services are registered here by their URL."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Response

from trapline.api.deps import CurrentUser, DatabaseDep, ServiceClientDep, SettingsDep
from trapline.http.params import Id
from trapline.schemas.common import ErrorOut
from trapline.schemas.services import ProcessingServiceOut, PushRegistrationOut, PushServiceIn
from trapline.services.pipelines import pipelines
from trapline.services.pipelines.service_status import online_window

router = APIRouter(tags=["processing services"])


@router.post(
    "/projects/{project_id}/processing-services",
    status_code=201,
    responses={
        200: {
            "model": PushRegistrationOut,
            "description": "The project had a service of this name: it was updated.",
        },
        502: {
            "model": ErrorOut,
            "description": "The service could not be used: unreachable, an error status, or "
            "an /info that describes no pipeline trapline can use.",
        },
    },
)
def register_push_service(
    project_id: Id,
    body: PushServiceIn,
    response: Response,
    caller: CurrentUser,
    db: DatabaseDep,
    settings: SettingsDep,
    client: ServiceClientDep,
) -> PushRegistrationOut:
    """Register a push-mode service by its URL and its pipelines from its /info (managers)."""
    made = pipelines.register_push_service(
        db,
        client,
        caller,
        project_id,
        body.name,
        body.endpoint_url,
        push_window=online_window(settings.push.status_interval),
    )
    if not made.created:
        response.status_code = 200
    return PushRegistrationOut.of_registration(made)


@router.get("/projects/{project_id}/processing-services")
def list_project_services(
    project_id: Id, caller: CurrentUser, db: DatabaseDep, settings: SettingsDep
) -> dict[str, Any]:
    """The project's processing services, pull and push, with status and pipelines."""
    found = [
        ProcessingServiceOut.of(listing)
        for listing in pipelines.project_services(
            db, caller, project_id, push_window=online_window(settings.push.status_interval)
        )
    ]
    return {"count": len(found), "next": None, "previous": None, "results": found}
