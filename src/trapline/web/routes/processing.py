"""Processing: a project's pipelines, its processing services and their workers."""

from __future__ import annotations

from starlette.responses import Response

from trapline.http.params import Id
from trapline.services import pipelines, projects
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router

router = page_router()


@router.get("/projects/{project_id}/processing")
def processing(page: SignedIn, project_id: Id) -> Response:
    """Pipelines, services with online status and last seen, and their workers."""
    project, role = projects.get_project(page.db, page.me, project_id)
    return page.render(
        "processing.html",
        project=project,
        role=role,
        pipelines=pipelines.list_pipelines(page.db, page.me, project_id),
        services=pipelines.list_services(page.db, page.me, project_id),
    )
