"""Events: a deployment's runs of photos (nights or sequences), the rules that make them and
the regroupings a rule change starts."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, NestedOffset, Offset
from trapline.http.state import platform_of
from trapline.schemas.events import (
    DeploymentRuleIn,
    EventOut,
    EventWithImagesOut,
    RegroupingOut,
    RuleIn,
    RuleOut,
)
from trapline.schemas.images import ImageOut
from trapline.services.ecology import events

router = APIRouter(tags=["events"])


@router.get("/deployments/{deployment_id}/events")
def list_events(
    request: Request,
    deployment_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: NestedOffset = 0,
) -> dict[str, Any]:
    """A deployment's events in time order, each with its start, end and photo count."""
    _, _, total, found = events.list_events(db, caller, deployment_id, limit=limit, offset=offset)
    return offset_page(request, total, [EventOut.of(e) for e in found], limit, offset)


@router.get("/events/{event_id}")
def get_event(
    event_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> EventWithImagesOut:
    """An event with its photos in time order (``limit`` and ``offset`` page them)."""
    event, images = events.get_event(db, caller, event_id, limit=limit, offset=offset)
    return EventWithImagesOut(
        **EventOut.of(event).model_dump(), images=[ImageOut.of(i) for i in images]
    )


@router.put("/projects/{project_id}/event-rule")
def set_project_rule(
    request: Request, project_id: Id, body: RuleIn, caller: CurrentUser, db: DatabaseDep
) -> RuleOut:
    """Set how the project's deployments that name no rule group their photos (managers).

    Their events are regrouped in the background: ``regrouping`` shows its progress.
    """
    grouping = Grouping(EventRule(body.rule), body.gap_seconds)
    regrouping = events.set_project_rule(db, caller, project_id, grouping)
    platform_of(request).regroupings.submit(regrouping.id)
    return RuleOut.of(grouping, regrouping)


@router.put("/deployments/{deployment_id}/event-rule")
def set_deployment_rule(
    request: Request,
    deployment_id: Id,
    body: DeploymentRuleIn,
    caller: CurrentUser,
    db: DatabaseDep,
) -> RuleOut:
    """Set a deployment's own rule, or null to follow its project's (members).

    Its events are regrouped in the background: ``regrouping`` shows its progress.
    """
    grouping = Grouping(EventRule(body.rule), body.gap_seconds) if body.rule else None
    regrouping = events.set_deployment_rule(db, caller, deployment_id, grouping)
    platform_of(request).regroupings.submit(regrouping.id)
    return RuleOut.of(grouping, regrouping)


@router.get("/event-regroupings/{regrouping_id}")
def get_regrouping(regrouping_id: Id, caller: CurrentUser, db: DatabaseDep) -> RegroupingOut:
    """A regrouping of events, with its progress."""
    return RegroupingOut.of(events.get_regrouping(db, caller, regrouping_id))
