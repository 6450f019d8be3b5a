"""Events: reading a deployment's events and their photos, changing the rule that groups
them (a regrouping in the background, ``background/events.py``), and keeping them current as
photos arrive, go, move or are dated again."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.repositories.ecology.events import Span
from trapline.db.types import utcnow
from trapline.domain.core.event_rules import Grouping
from trapline.domain.core.records import Deployment, Image, User
from trapline.domain.core.roles import Role
from trapline.domain.ecology.events import Event, Nights, Regrouping
from trapline.errors import TraplineError, failure_text
from trapline.services.core.access import project_for, require

log = logging.getLogger(__name__)

#: More photos than this at once (a bulk move) regroup their deployments whole, in one pass of
#: SQL, instead of being placed one by one (about a millisecond or two each): an upload's
#: files are placed, so an upload never pays for the size of its deployment.
WHOLE_AFTER = 1000


# -- keeping events current (called in the transaction that changes the photos) ------------


def photos_added(repos: Repos, image_ids: Sequence[int]) -> None:
    """Put new photos (or photos newly moved into a deployment) into their events."""
    if len(image_ids) > WHOLE_AFTER:
        for deployment_id in repos.ecology.events.deployments_of(image_ids):
            repos.ecology.events.regroup(deployment_id)
        return
    for image_id in image_ids:
        repos.ecology.events.add(image_id)


def photos_leaving(repos: Repos, image_ids: Sequence[int]) -> list[Span]:
    """The spans of the events photos are in, taken before they are deleted or moved."""
    return repos.ecology.events.spans(image_ids)


def photos_moved(repos: Repos, image_ids: Sequence[int]) -> None:
    """Put photos just moved between deployments into their new events, before the spans they
    left are grouped again (``photos_left``): an occurrence seen only in them goes with them,
    keeping its id, and comes back with them."""
    repos.ecology.events.leave_moved(image_ids)
    photos_added(repos, image_ids)


def photos_left(repos: Repos, spans: Sequence[Span]) -> None:
    """Group what is left of the spans photos left (an event may split or go)."""
    repos.ecology.events.regroup_spans(spans)


def times_reread(repos: Repos, project_id: int, deployment_id: int | None) -> Regrouping:
    """Regroup, in the background, the deployments whose capture times were read again."""
    return repos.ecology.regroupings.start(project_id, deployment_id, utcnow())


# -- reading ----------------------------------------------------------------------------


def list_events(
    db: Database,
    caller: User,
    deployment_id: int,
    *,
    limit: int,
    offset: int,
    nights: Nights | None = None,
) -> tuple[Deployment, Grouping, int, list[Event]]:
    """A deployment's events (those starting in ``nights``) in time order, with the rule that
    made them and how many events the deployment has."""
    with db.read() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, deployment.project_id, Role.VIEWER, asked=("deployment", deployment_id)
        )
        grouping = repos.ecology.events.grouping_of(deployment_id)
        assert grouping is not None
        total, events = repos.ecology.events.page(
            deployment_id, limit=limit, offset=offset, nights=nights
        )
        return deployment, grouping, total, events


def latest_regrouping(db: Database, caller: User, deployment: Deployment) -> Regrouping | None:
    """The newest regrouping that takes a deployment the caller may see."""
    with db.read() as repos:
        project_for(
            repos, caller, deployment.project_id, Role.VIEWER, asked=("deployment", deployment.id)
        )
        return repos.ecology.regroupings.latest(deployment.project_id, deployment.id)


def get_event(
    db: Database, caller: User, event_id: int, *, limit: int, offset: int
) -> tuple[Event, list[Image]]:
    """An event the caller may see, with a page of its photos in time order."""
    with db.read() as repos:
        event = require(repos.ecology.events.get(event_id), "event", event_id)
        project_for(repos, caller, event.project_id, Role.VIEWER, asked=("event", event_id))
        return event, repos.ecology.events.images(event_id, limit=limit, offset=offset)


# -- rules and regroupings ----------------------------------------------------------------


def set_project_rule(db: Database, caller: User, project_id: int, grouping: Grouping) -> Regrouping:
    """Set the rule of a project's deployments that name none (managers); their events are
    regrouped in the background (the regrouping is returned; run it with
    ``Platform.regroupings``)."""
    with db.write() as repos:
        project_for(repos, caller, project_id, Role.MANAGER)
        repos.ecology.events.set_project_rule(project_id, grouping)
        return repos.ecology.regroupings.start(project_id, None, utcnow())


def set_deployment_rule(
    db: Database, caller: User, deployment_id: int, grouping: Grouping | None
) -> Regrouping:
    """Set a deployment's own rule (None: its project's) (members); its events are regrouped
    in the background."""
    with db.write() as repos:
        deployment = require(repos.core.deployments.get(deployment_id), "deployment", deployment_id)
        project_for(
            repos, caller, deployment.project_id, Role.MEMBER, asked=("deployment", deployment_id)
        )
        # The project's row first, as a regrouping's step takes it before its run's row and
        # the deployment's: the other order deadlocked with a step on PostgreSQL.
        repos.core.projects.lock(deployment.project_id)
        repos.ecology.events.set_deployment_rule(deployment_id, grouping)
        return repos.ecology.regroupings.start(deployment.project_id, deployment_id, utcnow())


def get_regrouping(db: Database, caller: User, regrouping_id: int) -> Regrouping:
    """A regrouping the caller may see."""
    with db.read() as repos:
        found = require(repos.ecology.regroupings.get(regrouping_id), "regrouping", regrouping_id)
        project_for(
            repos, caller, found.project_id, Role.VIEWER, asked=("regrouping", regrouping_id)
        )
        return found


def regroup_step(db: Database, regrouping_id: int, holder: str, now: datetime) -> bool | None:
    """Regroup the next deployment of a running regrouping ``holder`` holds; True once it is
    done, None when it is no longer ``holder``'s.

    A deployment that cannot be regrouped (anything but the database going away) keeps its
    events: the regrouping notes why and goes on with the next one."""
    try:
        with db.write() as repos:
            return repos.ecology.regroupings.step(regrouping_id, holder, now)
    except TraplineError:
        raise  # the database went away: the run stops, and is taken again (``stepped.py``)
    except Exception as exc:  # one deployment's failure must not stop the others
        log.exception("regrouping %s: a deployment could not be regrouped", regrouping_id)
        with db.write() as repos:
            if not repos.ecology.regroupings.skip(regrouping_id, holder, now, failure_text(exc)):
                return None
        return False
