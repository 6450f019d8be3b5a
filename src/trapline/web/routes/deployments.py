"""Deployments (trap stations): the list, adding and editing one, its activity per night."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from starlette.responses import Response

from trapline.domain.core.records import Deployment
from trapline.domain.core.roles import Role
from trapline.http.params import Id
from trapline.schemas.projects import DeploymentIn
from trapline.services.ecology import counting, events
from trapline.services.photos import capture_times, deployments, projects
from trapline.services.review import reviews
from trapline.web.charts import bar_chart
from trapline.web.forms import validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.timeline import event_timeline, local_time

router = page_router()

#: Nights the deployment's page shows at once (links go to the nights before and after).
NIGHTS_SHOWN = 90
#: Events of those nights the page lists at most (the API pages through all of them).
EVENTS_SHOWN = 500
FIELDS = ("name", "description", "latitude", "longitude", "started_at", "ended_at", "time_zone")
#: The checkbox "the camera keeps standard time all year". The form sends a hidden ``off``
#: before it, so a form that has the box says ``off`` or ``on``; one that has not (an older
#: page, another client) says nothing, and an edit then keeps what is stored.
STANDARD_TIME = "standard_time"


def _values(deployment: Deployment | None) -> dict[str, Any]:
    if deployment is None:
        return {**dict.fromkeys(FIELDS, ""), STANDARD_TIME: False}
    values: dict[str, Any] = {k: getattr(deployment, k) for k in FIELDS}
    return {**{k: _shown(v) for k, v in values.items()}, STANDARD_TIME: deployment.standard_time}


def _posted(form: PostedForm) -> tuple[dict[str, Any], bool | None]:
    """The typed fields as sent, and the standard-time box (None: the form had none)."""
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in FIELDS}
    box = form.getlist(STANDARD_TIME)
    return values, ("on" in box) if box else None


def _shown(value: Any) -> str:
    """A stored value as the form shows it, so that saving the form unchanged keeps it
    (seconds too, when it has them; a datetime-local field with step 1 takes them)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds" if value.second else "minutes")
    return str(value)


def _list(page: Page, project_id: int, *, status: int = 200, **extra: Any) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    total, found = deployments.list_deployments(page.db, page.me, project_id, limit=500, offset=0)
    context = {"errors": {}, "values": _values(None), **extra}
    return page.render(
        "deployments.html",
        status=status,
        project=project,
        role=role,
        deployments=found,
        total=total,
        can_edit=role.allows(Role.MEMBER),
        **context,
    )


@router.get("/projects/{project_id}/deployments")
def deployment_list(page: SignedIn, project_id: Id) -> Response:
    """A project's deployments."""
    return _list(page, project_id)


@router.post("/projects/{project_id}/deployments")
def add_deployment(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Add a deployment."""
    values, standard_time = _posted(form)
    values[STANDARD_TIME] = bool(standard_time)
    checked, errors = validate(DeploymentIn, dict(values))
    if checked is None:
        return _list(page, project_id, status=400, errors=errors, values=values)
    made = deployments.create_deployment(page.db, page.me, project_id, **checked.model_dump())
    return page.redirect(f"/deployments/{made.id}")


def _detail(
    page: Page,
    deployment: Deployment,
    *,
    status: int = 200,
    until: date | None = None,
    **extra: Any,
) -> Response:
    project, role = projects.get_project(page.db, page.me, deployment.project_id)
    activity = reviews.deployment_activity(page.db, page.me, deployment.id, until, NIGHTS_SHOWN)
    _, rereads = capture_times.list_rereads(page.db, page.me, project.id, limit=20, offset=0)
    _, grouping, event_total, found = events.list_events(
        page.db, page.me, deployment.id, limit=EVENTS_SHOWN, offset=0, nights=activity.shown
    )
    context = {"errors": {}, "values": _values(deployment), **extra}
    return page.render(
        "deployment.html",
        status=status,
        project=project,
        role=role,
        deployment=deployment,
        chart=bar_chart([(night, n, seen) for night, n, _, seen in activity.nights]),
        activity=activity,
        labels=reviews.occurrence_labels(page.db, page.me, project.id, deployment.id),
        reread=next((r for r in rereads if r.deployment_id == deployment.id), None),
        grouping=grouping,
        events=found,
        events_shown=EVENTS_SHOWN,
        counted=counting.event_counts(page.db, page.me, deployment.id, [e.id for e in found]),
        share=counting.version_share(page.db, page.me, deployment.id),
        event_total=event_total,
        timeline=event_timeline(found),
        regrouping=events.latest_regrouping(page.db, page.me, deployment),
        local_time=local_time,
        can_edit=role.allows(Role.MEMBER),
        **context,
    )


@router.get("/deployments/{deployment_id}")
def deployment_page(page: SignedIn, deployment_id: Id, until: date | None = None) -> Response:
    """A deployment with its images and detections per night, and its events, of the nights
    up to ``until`` (its latest night when not given)."""
    found = deployments.get_deployment(page.db, page.me, deployment_id)
    return _detail(page, found, until=until)


@router.post("/deployments/{deployment_id}")
def edit_deployment(page: SignedIn, deployment_id: Id, form: PostedForm) -> Response:
    """Change a deployment."""
    current = deployments.get_deployment(page.db, page.me, deployment_id, Role.MEMBER)
    values, standard_time = _posted(form)
    values[STANDARD_TIME] = current.standard_time if standard_time is None else standard_time
    checked, errors = validate(DeploymentIn, dict(values))
    if checked is None:
        return _detail(page, current, status=400, errors=errors, values=values)
    # Only what the person changed is saved: a field left as the form showed it keeps the
    # stored value exactly, whatever the form's rendering of it dropped.
    shown = _values(current)
    changed = {
        k: v
        for k, v in checked.model_dump().items()
        if (values[k].strip() if isinstance(values[k], str) else values[k]) != shown[k]
    }
    _, reread = deployments.update_deployment(page.db, page.me, deployment_id, **changed)
    if reread is not None:  # its progress shows on the deployment's page
        page.platform.rereads.submit(reread.id)
    return page.redirect(f"/deployments/{deployment_id}")
