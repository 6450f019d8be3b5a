"""The platform API under ``/api/v2``: ``api_routes(table)`` adds its routes to the app's route
table, ``install_api(app)`` its OpenAPI document and docs.

Routes live in ``api/routes/`` (one module per resource); the app they join is assembled by
``trapline.app``, beside the web app.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute

from trapline.api.docs import install_docs
from trapline.api.openapi import install_openapi
from trapline.api.routes import annotations as annotation_routes
from trapline.api.routes import (
    blobs,
    callbacks,
    camtrap_tables,
    capture_times,
    classifiers,
    collections,
    count_tables,
    counts,
    deployments,
    detection_scorers,
    evaluation,
    events,
    exports,
    groupings,
    health,
    images,
    imports,
    jobs,
    listings,
    occurrences,
    pipelines,
    processing_services,
    projects,
    reviews,
    sources,
    tasks,
    taxa,
    tokens,
    users,
)
from trapline.http.limits import JSON_BODY_BYTES

#: Every API route lives under this prefix.
API_PREFIX = "/api/v2"


def install_api(app: FastAPI) -> None:
    """Serve the API's OpenAPI document and docs on ``app`` (its routes come from api_routes)."""
    install_openapi(app)
    install_docs(app, API_PREFIX)


def api_routes(table: APIRouter) -> None:
    """Add the API's routes to ``table``, in the order they are matched."""
    routers = (
        users, tokens, projects, deployments, images, capture_times, events, occurrences,
        listings, taxa, evaluation, classifiers, detection_scorers, groupings, counts,
        count_tables, camtrap_tables, collections, blobs, exports, imports,
    )  # fmt: skip
    # Workers' calls first: routes are matched in order, and they are most of the requests.
    for module in (
        tasks, *routers, pipelines, processing_services, jobs, annotation_routes, reviews, sources
    ):  # fmt: skip
        _docstrings_as_summaries(module.router)
        # Files (uploads, blobs) are bounded by BodyLimit and their routes; JSON bodies here.
        limit = None if module in (images, blobs, imports) else JSON_BODY_BYTES
        table.include_router(module.router, prefix=API_PREFIX, max_body_size=limit)
    # The callback API, also at the paths the external pipelines' integration guide prints.
    _docstrings_as_summaries(callbacks.router)
    table.include_router(callbacks.router, prefix=API_PREFIX, max_body_size=JSON_BODY_BYTES)
    table.include_router(
        callbacks.router, prefix="/api", max_body_size=JSON_BODY_BYTES, include_in_schema=False
    )
    table.include_router(health.router)


def _docstrings_as_summaries(router: APIRouter) -> None:
    # A route's one-line docstring reads better in the OpenAPI docs than its function name.
    for route in router.routes:
        if isinstance(route, APIRoute) and route.description and not route.summary:
            first, _, rest = route.description.partition("\n")
            # Docstrings quote names as ``code``; a summary is plain text.
            route.summary, route.description = first.replace("`", "").strip(), rest.strip()
