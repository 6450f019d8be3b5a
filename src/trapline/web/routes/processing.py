"""Processing: a project's pipelines, its processing services and their workers, and whether
each built-in pipeline can run on this server."""

from __future__ import annotations

from starlette.responses import Response

from trapline.domain.pipelines.pipelines import IMPORT_SERVICE, REFIT_SERVICE
from trapline.http.params import Id
from trapline.services.photos import projects
from trapline.services.pipelines import pipelines
from trapline.services.review import evaluation
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router

router = page_router()

#: Evaluation sets offered beside each version (the newest).
SETS_SHOWN = 5
#: The services that are the platform's own, and what each holds, for the page to say so
#: instead of "offline" (no worker is ever seen for them).
OWN_SERVICES = {
    IMPORT_SERVICE: "imported results: nothing runs them",
    REFIT_SERVICE: "promoted refits: the server runs them itself",
}


@router.get("/projects/{project_id}/processing")
def processing(page: SignedIn, project_id: Id) -> Response:
    """Pipelines, services with online status and last seen, and their workers."""
    # The pipelines' side is imported only when this page is asked for (it brings numpy,
    # scipy and the models' code; the server has no other use for them).
    from trapline.pipelines.registry import builtin_readiness

    project, role = projects.get_project(page.db, page.me, project_id)
    settings, clock = page.platform.settings, page.platform.clock
    return page.render(
        "processing.html",
        project=project,
        role=role,
        pipelines=pipelines.list_pipelines(page.db, page.me, project_id),
        services=pipelines.list_services(page.db, page.me, project_id),
        builtins=builtin_readiness(settings.worker.weights_cache_dir, clock.now()),
        weights_folder=settings.worker.weights_cache_dir,
        evaluation_sets=evaluation.list_sets(page.db, page.me, project_id)[:SETS_SHOWN],
        own_services=OWN_SERVICES,
    )
