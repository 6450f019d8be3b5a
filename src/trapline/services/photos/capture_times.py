"""Capture times in local time: zone changes that re-read images' times, the re-readings
themselves (run in the background, ``background/capture_times.py``), and images moving
between deployments."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.photos.local_times import Reread
from trapline.errors import InvalidInput
from trapline.services.core.access import project_for, require
from trapline.services.ecology import events

#: Most images one move names.
MAX_MOVE = 10_000
#: Images re-read per transaction of a re-reading.
BATCH_SIZE = 500


def start_reread(
    repos: Repos, project_id: int, deployment_id: int | None, time_zone: str, now: datetime
) -> Reread:
    """Queue a re-reading of the images a zone change touches (in the change's transaction, so
    that the change and its re-reading commit together)."""
    return repos.photos.capture_times.start(project_id, deployment_id, time_zone, now)


def move_images(
    db: Database,
    caller: User,
    project_id: int,
    image_ids: Sequence[int],
    deployment_id: int | None,
) -> int:
    """Move images of a project into one of its deployments (None: out of any), reading their
    capture times in its zone (members); how many moved.

    Every id must be an image of the project: one that is not (missing, or another project's)
    refuses the whole move with the answer a missing image gets.
    """
    wanted = list(dict.fromkeys(image_ids))
    if not wanted:
        raise InvalidInput("image_ids: name at least one image")
    if len(wanted) > MAX_MOVE:
        raise InvalidInput(f"image_ids: at most {MAX_MOVE} images at a time (got {len(wanted)})")
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MEMBER)
        if deployment_id is not None:
            found = repos.core.deployments.get(deployment_id)
            if found is None or found.project_id != project_id:
                require(None, "deployment", deployment_id)
        known = repos.core.images.existing_ids(project_id, wanted)
        missing = [i for i in wanted if i not in known]
        if missing:
            require(None, "image", missing[0])
        repos.photos.capture_times.zone_for(project_id, deployment_id)  # holds the project's row
        spans = events.photos_leaving(repos, wanted)
        moved = repos.photos.capture_times.move(project_id, wanted, deployment_id)
        events.photos_moved(repos, wanted)
        events.photos_left(repos, spans)
        return moved


def get_reread(db: Database, caller: User, reread_id: int) -> Reread:
    """A re-reading of capture times the caller may see."""
    with db.read() as repos:
        reread = require(repos.photos.capture_times.get(reread_id), "re-reading", reread_id)
        project_for(repos, caller, reread.project_id, Role.VIEWER, asked=("re-reading", reread_id))
        return reread


def list_rereads(
    db: Database, caller: User, project_id: int, *, limit: int, offset: int
) -> tuple[int, list[Reread]]:
    """A project's re-readings of capture times, newest first."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        return repos.photos.capture_times.page(project_id, limit=limit, offset=offset)


def reread_batch(
    db: Database, reread_id: int, holder: str, now: datetime, batch_size: int = BATCH_SIZE
) -> bool | None:
    """Re-read the next batch of a running re-reading ``holder`` holds; True once it is done,
    None when it is no longer ``holder``'s."""
    with db.write() as repos:
        done = repos.photos.capture_times.step(reread_id, holder, now, batch_size)
        reread = repos.photos.capture_times.get(reread_id)
        if done and reread is not None:
            # Gaps between photos are measured between instants, so sequences may change.
            events.times_reread(repos, reread.project_id, reread.deployment_id)
        return done
