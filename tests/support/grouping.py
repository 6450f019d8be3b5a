"""Photos put straight into the database as uploads would put them, in a project with a given
event rule, and the events they fall into: the grouping tests' scene."""

from __future__ import annotations

import hashlib
from datetime import datetime

from tests.support.accounts import Account
from trapline.db.engine import Database
from trapline.domain.core.event_rules import Grouping
from trapline.domain.photos.local_times import offset_minutes
from trapline.services.ecology import events

T0 = datetime(2024, 6, 21, 22, 0, 0)


def grouping_project(
    db: Database, owner: Account, grouping: Grouping, zone: str = "UTC"
) -> tuple[int, int]:
    with db.write() as repos:
        project = repos.core.projects.create("P", "", owner.id)
        repos.ecology.events.set_project_rule(project.id, grouping)
        deployment = repos.core.deployments.create(project.id, name="Trap", time_zone=zone)
    return project.id, deployment.id


def add_photos(
    db: Database,
    project_id: int,
    deployment_id: int | None,
    *times: datetime,
    zone: str = "UTC",
    at_once: bool = False,
) -> list[int]:
    """Insert photos taken at these wall-clock times, each as one upload would (``at_once``:
    all as one upload or move would, put into events in one call)."""
    ids = []
    with db.write() as repos:
        for moment in times:
            sha = hashlib.sha256(
                f"{project_id}-{moment.isoformat()}-{len(ids)}".encode()
            ).hexdigest()
            image = repos.photos.images.insert(
                project_id=project_id,
                deployment_id=deployment_id,
                storage_key=sha,
                filename=f"{moment:%H%M%S}.jpg",
                sha256=sha,
                size_bytes=1,
                width=1,
                height=1,
                content_type="image/jpeg",
                captured_at=moment,
                captured_offset_minutes=offset_minutes(moment, zone),
            )
            assert image is not None
            ids.append(image.id)
            if not at_once:
                events.photos_added(repos, [image.id])
        if at_once:
            events.photos_added(repos, ids)
    return ids


def groups_of(db: Database, deployment_id: int) -> list[list[int]]:
    """The deployment's events as lists of their photos' ids, checking each event's count."""
    with db.read() as repos:
        _, found = repos.ecology.events.page(deployment_id, limit=1000, offset=0)
        out = []
        for event in found:
            photos = repos.ecology.events.images(event.id, limit=1000, offset=0)
            assert event.image_count == len(photos)
            assert event.first_image_id == photos[0].id
            assert (event.starts_at, event.ends_at) == (
                photos[0].captured_at,
                photos[-1].captured_at,
            )
            out.append([p.id for p in photos])
        return out
