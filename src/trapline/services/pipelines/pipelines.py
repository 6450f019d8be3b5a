"""Pipelines and processing services: registration, listing, enabling."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from sqlalchemy.exc import IntegrityError

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.pipelines.pipelines import (
    ONLINE_WINDOW,
    ProjectPipeline,
    Registration,
    ServiceStatus,
    WorkerInfo,
)
from trapline.errors import Conflict, InvalidInput, NotFound
from trapline.protocol.base import MAX_NAME
from trapline.protocol.pipelines import (
    PipelineConfig,
    PipelineRegistration,
    PipelineRegistrationResponse,
    RefusedPipeline,
)
from trapline.services.core.access import project_for, worker_project
from trapline.services.pipelines.service_client import ServiceClient, ServiceError, endpoint
from trapline.services.pipelines.service_status import check_service

#: Task types whose output is a label out of a category map.
CLASSIFYING_TASK_TYPES = frozenset({"classification", "classifier"})
#: Tries of a registration that raced another one inserting the same rows.
REGISTRATION_ATTEMPTS = 3


def register_pipelines(
    db: Database, caller: User, project_id: int, registration: PipelineRegistration
) -> PipelineRegistrationResponse:
    """Register a pull-mode service's pipelines for a project (managers and service accounts);
    the answer is the worker protocol's."""
    name = registration.processing_service_name
    if not name and registration.client_info and registration.client_info.hostname:
        name = (
            f"{registration.client_info.software or 'worker'} ({registration.client_info.hostname})"
        )[:MAX_NAME]  # both parts may be as long as a name
    if not name:
        raise InvalidInput("processing_service_name is required")
    _check_configs(registration.pipelines)
    for attempt in range(1, REGISTRATION_ATTEMPTS + 1):
        try:
            with db.write() as repos:
                _may_register(repos, caller, project_id)
                now = utcnow()
                made = repos.pipelines.pipelines.register(
                    project_id, name, registration.pipelines, now, registered_by=caller.id
                )
            break
        except IntegrityError:
            # Another registration (workers starting together) inserted the same new service,
            # pipeline, algorithm or category map first: this one finds them on another try.
            if attempt == REGISTRATION_ATTEMPTS:
                raise
    if made.refused_whole:  # recorded all the same: its workers claim nothing here
        raise Conflict("; ".join(why for _, _, why in made.pipelines_refused))
    return PipelineRegistrationResponse(
        timestamp=now,
        processing_service_id=made.service_id,
        pipelines=[PipelineConfig.model_validate(p.model_dump()) for p in registration.pipelines],
        pipelines_created=made.pipelines_created,
        pipelines_updated=made.pipelines_updated,
        algorithms_created=made.algorithms_created,
        pipelines_refused=[
            RefusedPipeline(slug=slug, version=version, reason=why)
            for slug, version, why in made.pipelines_refused
        ],
    )


def check_may_register(db: Database, caller: User, project_id: int) -> None:
    """NotFound or PermissionDenied unless the caller may register pipelines in the project,
    answered as ``register_pipelines`` would: checked before a registration's body is read."""
    with db.read() as repos:
        _may_register(repos, caller, project_id)


def _may_register(repos: Repos, caller: User, project_id: int) -> None:
    if caller.is_service:
        worker_project(repos, caller, project_id)
    else:
        project_for(repos, caller, project_id, Role.MANAGER)


def list_pipelines(
    db: Database, caller: User, project_id: int, *, push_window: timedelta = ONLINE_WINDOW
) -> list[ProjectPipeline]:
    """The project's pipeline versions with their services' online status."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.pipelines.pipelines.for_project(project_id, utcnow(), push_window=push_window)


def set_pipeline_enabled(
    db: Database, caller: User, project_id: int, slug: str, enabled: bool
) -> None:
    """Enable or disable a pipeline (every version) in a project (managers)."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        if not repos.pipelines.pipelines.set_enabled(project_id, slug, enabled):
            raise NotFound(f"pipeline {slug} is not registered in project {project_id}")


def list_services(
    db: Database, caller: User, project_id: int, *, push_window: timedelta = ONLINE_WINDOW
) -> list[tuple[ServiceStatus, list[WorkerInfo]]]:
    """The project's processing services, each with its workers."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        services = repos.pipelines.pipelines.services_of_project(
            project_id, utcnow(), push_window=push_window
        )
        return [(s, repos.pipelines.workers.of_service(s.id)) for s in services.values()]


@dataclass(frozen=True)
class ServiceListing:
    """A processing service of a project with the slugs of the pipelines it offers."""

    service: ServiceStatus
    pipelines: list[str]


@dataclass(frozen=True)
class PushRegistration:
    """What registering a push-mode service did."""

    listing: ServiceListing
    registration: Registration
    #: False when the project already had the service (the call updated it).
    created: bool


def project_services(
    db: Database, caller: User, project_id: int, *, push_window: timedelta = ONLINE_WINDOW
) -> list[ServiceListing]:
    """The project's processing services, pull and push, with their status and pipelines."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        services = repos.pipelines.pipelines.services_of_project(
            project_id, utcnow(), push_window=push_window
        )
        slugs = repos.pipelines.pipelines.pipeline_slugs(project_id, list(services))
    return [ServiceListing(s, slugs[s.id]) for s in services.values()]


def register_push_service(
    db: Database,
    client: ServiceClient,
    caller: User,
    project_id: int,
    name: str,
    endpoint_url: str,
    *,
    push_window: timedelta = ONLINE_WINDOW,
) -> PushRegistration:
    """Register (or update) a push-mode service for a project (managers); safe to repeat.

    The service's ``/info`` is fetched and its pipelines registered exactly as a pull-mode
    registration registers them; then its ``/readyz`` is checked once. A service an admin
    registers is trusted: the platform calls it at any address. Anyone else's must be at an
    address the outbound policy allows, checked before the first call and again at each call.

    Raises:
        OutboundBlocked: the URL reaches an address the platform does not call for the caller.
        ServiceError: the service is unreachable or does not answer as a processing service.
    """
    name = name.strip()
    if not name:
        raise InvalidInput("name must not be blank")
    url = check_endpoint_url(endpoint_url)
    with db.read() as repos:  # no call leaves the platform for a caller who may not register
        project_for(repos, caller, project_id, Role.MANAGER)
    trusted = caller.is_admin
    client.check(url, trusted=trusted)
    info = client.info(url, trusted=trusted)
    if not info.pipelines:
        raise ServiceError(
            f"{endpoint(url, 'info')} lists no pipelines; start the service with at least one",
            transient=False,
            code="bad_service_answer",
        )
    try:
        _check_configs(info.pipelines)
    except InvalidInput as exc:
        raise ServiceError(
            f"{endpoint(url, 'info')} describes a pipeline trapline cannot use: {exc.detail}",
            transient=False,
            code="bad_service_answer",
        ) from exc
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        existed = repos.pipelines.pipelines.service_named(project_id, name) is not None
        made = repos.pipelines.pipelines.register(
            project_id, name, info.pipelines, utcnow(), endpoint_url=url, trusted=trusted
        )
    check_service(db, client, made.service_id, url, trusted=trusted)
    with db.read() as repos:
        services = repos.pipelines.pipelines.services_of_project(
            project_id, utcnow(), push_window=push_window
        )
        slugs = repos.pipelines.pipelines.pipeline_slugs(project_id, [made.service_id])
    listing = ServiceListing(services[made.service_id], slugs[made.service_id])
    return PushRegistration(listing, made, created=not existed)


def check_endpoint_url(value: str) -> str:
    """The base URL of a push-mode service, without a trailing slash; InvalidInput if unusable."""
    url = value.strip()
    example = "such as http://gpu-box.example.org:2000"
    try:  # a malformed IPv6 bracket or port fails here
        parts = urlsplit(url)
        port_ok = parts.port is None or parts.port > 0
    except ValueError:
        raise InvalidInput(
            f"endpoint_url must be an http(s) URL {example} (got {value!r})"
        ) from None
    if parts.scheme not in ("http", "https") or not parts.hostname or not port_ok:
        raise InvalidInput(f"endpoint_url must be an http(s) URL {example} (got {value!r})")
    if parts.username or parts.password:
        raise InvalidInput("endpoint_url must not carry a user name or password")
    if parts.query or parts.fragment:
        raise InvalidInput(f"endpoint_url must have no query or fragment (got {value!r})")
    # Which addresses may be called is the outbound guard's decision (ServiceClient.check).
    return url.rstrip("/")


def _check_configs(configs: Sequence[PipelineConfig]) -> None:
    slugs = [c.slug for c in configs]
    if len(set(slugs)) != len(slugs):
        raise InvalidInput("each pipeline slug may appear once per registration")
    for config in configs:
        for algorithm in config.algorithms:
            is_classifier = (algorithm.task_type or "").lower() in CLASSIFYING_TASK_TYPES
            if is_classifier and not (algorithm.category_map and algorithm.category_map.labels):
                raise InvalidInput(
                    f"classification algorithm {algorithm.key} of pipeline {config.slug} has no "
                    "category map; send its labels in category_map.labels"
                )
