"""The ASGI application: create_app(settings) wires backends, middleware, errors and routes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.routing import APIRoute

from trapline import __version__
from trapline.api.admission import ClaimGate
from trapline.api.bodies import JSON_BODY_BYTES
from trapline.api.errors import JsonTooLarge, install_error_handlers
from trapline.api.middleware import BodyLimit, RequestContext, StripTrailingSlash
from trapline.api.openapi import install_openapi
from trapline.api.routes import annotations as annotation_routes
from trapline.api.routes import (
    blobs,
    collections,
    deployments,
    health,
    images,
    jobs,
    pipelines,
    processing_services,
    projects,
    tasks,
    tokens,
    users,
)
from trapline.db.engine import Database
from trapline.outbound import OutboundPolicy
from trapline.queue import open_task_queue
from trapline.services.access import AccessMemo
from trapline.services.duties import (
    Duty,
    DutyRunner,
    JobStarter,
    check_push_services,
    dispatch_push_tasks,
    reap_expired_leases,
    restart_stuck_jobs,
)
from trapline.services.push import DISPATCH_INTERVAL, PushDispatcher
from trapline.services.service_client import ServiceClient
from trapline.services.workers import WorkerTracker
from trapline.settings import Settings
from trapline.storage import open_blob_store

#: Every API route lives under this prefix.
API_PREFIX = "/api/v2"


def create_app(settings: Settings, *, db: Database | None = None) -> FastAPI:
    """The platform API over the database and storage ``settings`` name."""
    database = db or Database.from_url(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        sqlite_busy_timeout=settings.sqlite_busy_timeout,
    )
    secret = settings.resolved_secret_key()
    store = open_blob_store(
        settings.resolved_storage_url,
        secret_key=secret,
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
    )

    queue = open_task_queue(settings.queue_url, database)
    starter = JobStarter(database, queue)
    service_client = ServiceClient(
        process_timeout=settings.push_timeout, policy=OutboundPolicy.from_settings(settings)
    )
    push = PushDispatcher(database, queue, store, service_client, secret=secret, settings=settings)
    duties = DutyRunner(
        database,
        [
            Duty(
                "lease-reaper",
                settings.reaper_interval,
                lambda: reap_expired_leases(database, queue),
            ),
            Duty("job-recovery", 10.0, lambda: restart_stuck_jobs(database, starter)),
            Duty(
                "service-status",
                settings.status_interval,
                lambda: check_push_services(database, service_client),
            ),
            Duty("push-dispatcher", DISPATCH_INTERVAL, lambda: dispatch_push_tasks(push)),
            *queue.background_duties(settings),
        ],
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        if settings.duties_enabled:
            duties.start()
        try:
            yield
        finally:
            if settings.duties_enabled:
                duties.stop()
            push.close()
            service_client.close()
            starter.close()
            queue.close()
            if db is None:
                database.dispose()

    app = FastAPI(
        title="trapline",
        version=__version__,
        summary="Run machine-learning pipelines over field images and keep what they found.",
        docs_url=f"{API_PREFIX}/docs",
        redoc_url=None,
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
    app.state.settings = settings
    app.state.db = database
    app.state.store = store
    app.state.secret = secret
    app.state.queue = queue
    app.state.starter = starter
    app.state.duties = duties
    app.state.tracker = WorkerTracker(database)
    app.state.access = AccessMemo(database, settings.access_cache_seconds)
    app.state.claims = ClaimGate(settings.max_claims_in_flight)
    app.state.service_client = service_client
    app.state.push = push
    install_error_handlers(app)
    install_openapi(app)
    routers = (users, tokens, projects, deployments, images, collections, blobs)
    # Workers' calls first: routes are matched in order, and they are most of the requests.
    for module in (tasks, *routers, pipelines, processing_services, jobs, annotation_routes):
        _docstrings_as_summaries(module.router)
        # Files (uploads, blobs) are bounded by BodyLimit and their routes; JSON bodies here.
        limit = None if module in (images, blobs) else JSON_BODY_BYTES
        app.include_router(module.router, prefix=API_PREFIX, max_body_size=limit)
    app.include_router(health.router)

    @app.get("/", include_in_schema=False)
    def root() -> dict[str, str]:
        return {"name": "trapline", "version": __version__, "docs": f"{API_PREFIX}/docs"}

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
            route.summary, route.description = first.strip(), rest.strip()
