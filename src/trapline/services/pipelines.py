"""Pipelines and processing services: registration, listing, enabling."""

from __future__ import annotations

from collections.abc import Sequence

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.pipelines import ProjectPipeline, Registration, ServiceStatus, WorkerInfo
from trapline.domain.records import User
from trapline.domain.roles import Role
from trapline.errors import InvalidInput, NotFound
from trapline.protocol import PipelineConfig, PipelineRegistration
from trapline.services.access import project_for, worker_project

#: Task types whose output is a label out of a category map.
CLASSIFYING_TASK_TYPES = frozenset({"classification", "classifier"})


def register_pipelines(
    db: Database, caller: User, project_id: int, registration: PipelineRegistration
) -> Registration:
    """Register a pull-mode service's pipelines for a project (managers and service accounts)."""
    name = registration.processing_service_name
    if not name and registration.client_info and registration.client_info.hostname:
        name = (
            f"{registration.client_info.software or 'worker'} ({registration.client_info.hostname})"
        )
    if not name:
        raise InvalidInput("processing_service_name is required")
    _check_configs(registration.pipelines)
    with db.write() as repos:
        if caller.is_service:
            worker_project(repos, caller, project_id)
        else:
            project_for(repos, caller, project_id, Role.MANAGER)
        return repos.pipelines.register(project_id, name, registration.pipelines, utcnow())


def list_pipelines(db: Database, caller: User, project_id: int) -> list[ProjectPipeline]:
    """The project's pipeline versions with their services' online status."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.pipelines.for_project(project_id, utcnow())


def set_pipeline_enabled(
    db: Database, caller: User, project_id: int, slug: str, enabled: bool
) -> None:
    """Enable or disable a pipeline (every version) in a project (managers)."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        if not repos.pipelines.set_enabled(project_id, slug, enabled):
            raise NotFound(f"pipeline {slug} is not registered in project {project_id}")


def list_services(
    db: Database, caller: User, project_id: int
) -> list[tuple[ServiceStatus, list[WorkerInfo]]]:
    """The project's processing services, each with its workers."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        services = repos.pipelines.services_of_project(project_id, utcnow())
        return [(s, repos.workers.of_service(s.id)) for s in services.values()]


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
