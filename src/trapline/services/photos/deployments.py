"""Deployments: the camera and trap stations images come from."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.records import HALF_PLACE, Deployment, User, half_place
from trapline.domain.core.roles import Role
from trapline.domain.photos.local_times import Reread, zone_error
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.photos.capture_times import start_reread


def create_deployment(db: Database, caller: User, project_id: int, **values: Any) -> Deployment:
    """Add a deployment to a project (members)."""
    check_zone(values.get("time_zone"))
    _check_period(values.get("started_at"), values.get("ended_at"))
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        return repos.core.deployments.create(project_id, **values)


def list_deployments(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Deployment]]:
    """A project's deployments."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.core.deployments.page(project_id, limit=limit, offset=offset)


def deployment_names(
    db: Database, caller: User, project_id: int, *, limit: int
) -> list[tuple[int, str]]:
    """A project's first ``limit`` deployments as (id, name), for a menu of them."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.core.deployments.names(project_id, limit=limit)


def get_deployment(
    db: Database, caller: User, deployment_id: int, needed: Role = Role.VIEWER
) -> Deployment:
    """A deployment the caller may see."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, deployment.project_id, needed, asked=("deployment", deployment_id)
        )
        return deployment


def update_deployment(
    db: Database, caller: User, deployment_id: int, **values: Any
) -> tuple[Deployment, Reread | None]:
    """Change a deployment (members). A new time zone, or a change of whether its camera keeps
    standard time all year, queues a re-reading of its images' capture times (returned; run it
    with ``Platform.rereads``), committed with the change."""
    check_zone(values.get("time_zone"))
    with db.write() as repos:
        current = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, current.project_id, Role.MEMBER, asked=("deployment", deployment_id)
        )
        _check_period(
            values.get("started_at", current.started_at), values.get("ended_at", current.ended_at)
        )
        half = half_place(
            values.get("latitude", current.latitude), values.get("longitude", current.longitude)
        )
        if half is not None:
            missing, given = half
            message = HALF_PLACE.format(missing=missing, given=given)
            raise InvalidInput(f"{missing}: {message}")
        reread = None
        new_zone = "time_zone" in values and values["time_zone"] != current.time_zone
        new_clock = values.get("standard_time", current.standard_time) != current.standard_time
        if new_zone or new_clock:
            # The project's row first, as every writer of offsets takes it (capture_times.py).
            default = repos.photos.capture_times.zone_for(current.project_id, None)
            zone = values.get("time_zone", current.time_zone) or default or "UTC"
            reread = start_reread(repos, current.project_id, deployment_id, zone, utcnow())
        updated = repos.core.deployments.update(deployment_id, **values)
    assert updated is not None
    return updated, reread


def delete_deployment(db: Database, caller: User, deployment_id: int) -> None:
    """Remove a deployment (managers); its images stay in the project."""
    with db.write() as repos:
        current = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, current.project_id, Role.MANAGER, asked=("deployment", deployment_id)
        )
        repos.photos.deployment_removal.delete(deployment_id)


def check_zone(name: str | None) -> None:
    """Refuse a time zone that is not an IANA name (None: the project's default)."""
    if name is not None and (problem := zone_error(name)) is not None:
        raise InvalidInput(f"time_zone: {problem}")


def _check_period(started_at: datetime | None, ended_at: datetime | None) -> None:
    if started_at and ended_at and ended_at < started_at:
        raise InvalidInput(
            f"ended_at ({ended_at.isoformat()}) is before started_at ({started_at.isoformat()})"
        )
