"""Events: an event's photos in time order, as a filmstrip."""

from __future__ import annotations

from starlette.responses import Response

from trapline.http.params import Id, Offset
from trapline.services import deployments, events, projects
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router
from trapline.web.timeline import local_time

router = page_router()

#: Photos one page of the filmstrip shows.
PER_PAGE = 200


@router.get("/events/{event_id}")
def event_page(page: SignedIn, event_id: Id, offset: Offset = 0) -> Response:
    """An event's photos in time order, each linking to the viewer."""
    event, photos = events.get_event(page.db, page.me, event_id, limit=PER_PAGE, offset=offset)
    deployment = deployments.get_deployment(page.db, page.me, event.deployment_id)
    project, role = projects.get_project(page.db, page.me, event.project_id)
    return page.render(
        "event.html",
        project=project,
        role=role,
        deployment=deployment,
        event=event,
        photos=photos,
        offset=offset,
        per_page=PER_PAGE,
        local_time=local_time,
    )
