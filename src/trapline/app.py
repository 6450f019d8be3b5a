"""The ASGI application: ``create_app(platform)`` assembles the API and the web app.

Both are mounted here as siblings over one platform, with what every request passes
(middleware, error answers) and the lifespan that starts the background duties.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import cache

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware

from trapline import __version__
from trapline.api import API_PREFIX, api_routes, install_api
from trapline.api.docs import TAGS
from trapline.http.errors import JsonTooLarge, install_error_handlers
from trapline.http.middleware import BodyLimit, RequestContext, StripTrailingSlash
from trapline.http.time_limit import RequestTimeLimit
from trapline.platform import Platform
from trapline.web import install_web, web_routes


def create_app(platform: Platform) -> FastAPI:
    """The app over ``platform``: the API and the web app, middleware, errors and a lifespan.

    The lifespan starts and stops the background duties (when the settings enable them); the
    platform itself is closed by whoever built it.
    """
    settings = platform.settings

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.server.duties_enabled:
            platform.duties.start()
        try:
            yield
        finally:
            if settings.server.duties_enabled:
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
        routes=route_table().routes,
        # Looking for OpenTelemetry providers costs ~65 µs of every request (~10% of a
        # health check's); only done when asked for.
        telemetry={
            "tracing": settings.http.opentelemetry,
            "metrics": settings.http.opentelemetry,
            "logs": settings.http.opentelemetry,
        },
    )
    app.state.platform = platform
    install_error_handlers(app)
    install_api(app)
    install_web(app)

    # Added innermost first: requests pass RequestContext, then slashes, then the body limit,
    # then the time limit of their queries.
    if settings.security.cors_origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.security.cors_origins,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID"],
        )
    app.add_middleware(RequestTimeLimit, seconds=settings.db.statement_timeout)
    app.add_middleware(BodyLimit, max_bytes=settings.http.max_request_bytes)
    app.add_middleware(JsonTooLarge)
    app.add_middleware(StripTrailingSlash)
    app.add_middleware(RequestContext)
    return app


@cache
def route_table() -> APIRouter:
    """Every route of the app, the API's under /api/v2, then the web app's at /: built once in
    a process and shared by every app built in it.

    The routes read the platform from the request's app, so they hold nothing of any one app,
    and FastAPI resolves an included router's routes (their dependencies, their parameters'
    validators) once per include: sharing the includes keeps that work to the first app
    instead of every app a process builds (the test suite builds one per test).
    """
    table = APIRouter(redirect_slashes=False)
    api_routes(table)
    web_routes(table)
    return table
