"""The ASGI application: create_app(platform) adds routes, middleware and errors to a platform."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from trapline import __version__
from trapline.api.bodies import JSON_BODY_BYTES
from trapline.api.docs import TAGS, install_docs
from trapline.api.errors import JsonTooLarge, install_error_handlers
from trapline.api.middleware import BodyLimit, RequestContext, StripTrailingSlash
from trapline.api.openapi import install_openapi
from trapline.api.routes import annotations as annotation_routes
from trapline.api.routes import (
    blobs,
    callbacks,
    collections,
    deployments,
    exports,
    health,
    images,
    imports,
    jobs,
    pipelines,
    processing_services,
    projects,
    reviews,
    sources,
    tasks,
    tokens,
    users,
)
from trapline.platform import Platform
from trapline.web import install_web

#: Every API route lives under this prefix.
API_PREFIX = "/api/v2"


def create_app(platform: Platform) -> FastAPI:
    """The platform API over ``platform``: routes, middleware, error handlers and a lifespan.

    The lifespan starts and stops the background duties (when the settings enable them); the
    platform itself is closed by whoever built it.
    """
    settings = platform.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.duties_enabled:
            platform.duties.start()
        try:
            yield
        finally:
            if settings.duties_enabled:
                platform.duties.stop()

    app = FastAPI(
        title="trapline",
        version=__version__,
        summary="Run machine-learning pipelines over field images and keep what they found.",
        # Served by install_docs from local assets (no CDN), in the order of TAGS.
        docs_url=None,
        redoc_url=None,
        openapi_tags=TAGS,
        openapi_url=f"{API_PREFIX}/openapi.json",
        redirect_slashes=False,
        lifespan=lifespan,
        # Looking for OpenTelemetry providers costs ~65 µs of every request (~10% of a
        # health check's); only done when asked for.
        telemetry={
            "tracing": settings.opentelemetry,
            "metrics": settings.opentelemetry,
            "logs": settings.opentelemetry,
        },
    )
    app.state.platform = platform
    install_error_handlers(app)
    install_openapi(app)
    install_docs(app, API_PREFIX)
    routers = (users, tokens, projects, deployments, images, collections, blobs, exports, imports)
    # Workers' calls first: routes are matched in order, and they are most of the requests.
    for module in (
        tasks, *routers, pipelines, processing_services, jobs, annotation_routes, reviews, sources
    ):  # fmt: skip
        _docstrings_as_summaries(module.router)
        # Files (uploads, blobs) are bounded by BodyLimit and their routes; JSON bodies here.
        limit = None if module in (images, blobs, imports) else JSON_BODY_BYTES
        app.include_router(module.router, prefix=API_PREFIX, max_body_size=limit)
    # The callback API, also at the paths the external pipelines' integration guide prints.
    _docstrings_as_summaries(callbacks.router)
    app.include_router(callbacks.router, prefix=API_PREFIX, max_body_size=JSON_BODY_BYTES)
    app.include_router(
        callbacks.router, prefix="/api", max_body_size=JSON_BODY_BYTES, include_in_schema=False
    )
    app.include_router(health.router)
    # The web app for people, at / (the API stays under /api/v2).
    install_web(app)

    # Added innermost first: requests pass RequestContext, then slashes, then the body limit.
    if settings.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(
        BodyLimit,
        max_bytes=settings.max_request_bytes,
        max_part_bytes=settings.max_upload_bytes,
    )
    app.add_middleware(JsonTooLarge)
    app.add_middleware(StripTrailingSlash)
    app.add_middleware(RequestContext)
    return app


def _docstrings_as_summaries(router: APIRouter) -> None:
    # A route's one-line docstring reads better in the OpenAPI docs than its function name.
    for route in router.routes:
        if isinstance(route, APIRoute) and route.description and not route.summary:
            first, _, rest = route.description.partition("\n")
            # Docstrings quote names as ``code``; a summary is plain text.
            route.summary, route.description = first.replace("`", "").strip(), rest.strip()
