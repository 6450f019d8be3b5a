"""Events: an event's photos in time order, as a filmstrip, and its occurrences; an
occurrence's detections; a reviewer's merge and split; a deployment's own rule."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from starlette.responses import Response

from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.core.roles import Role
from trapline.domain.ecology.tracking import MAX_BOXES
from trapline.domain.taxa.rejections import rejections_for
from trapline.errors import InvalidInput, NotFound
from trapline.http.params import Id, Offset
from trapline.schemas.events import DeploymentRuleIn
from trapline.services.ecology import events, occurrences
from trapline.services.photos import deployments, projects
from trapline.services.review.identifications import MAX_BULK, recent_taxa
from trapline.web.counting_choice import PipelineText, pipeline_choice
from trapline.web.forms import form_id, validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.identify import (
    Bulk,
    Undo,
    UndoText,
    form_offset,
    identify_ticked,
    links,
)
from trapline.web.timeline import local_time

router = page_router()

#: Photos one page of the filmstrip shows.
PER_PAGE = 200
#: Occurrences the event's page lists (the API pages through all of them).
OCCURRENCES_SHOWN = 500
#: The longest pipeline a bulk form carries back (a slug).
MAX_PIPELINE_TEXT = 255
#: Colours of the occurrences' boxes on the filmstrip (and their keys in the list).
PALETTE = ("#e8590c", "#1c7ed6", "#2f9e44", "#ae3ec9", "#f08c00", "#0c8599", "#c2255c")


@router.get("/events/{event_id}")
def event_page(
    page: SignedIn,
    event_id: Id,
    offset: Offset = 0,
    select: Annotated[Literal["all"] | None, Query()] = None,
    identified: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
    pipeline: PipelineText = "",
    rejected: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
    undo: UndoText = "",
    undone: Annotated[int | None, Query(ge=1, le=MAX_BULK)] = None,
) -> Response:
    """An event's photos in time order, each linking to the viewer, and its occurrences (of
    the project's counting pipeline, or of ``pipeline``)."""
    return _event(
        page, event_id, offset, everything=select == "all", done=identified, pipeline=pipeline,
        undo=Undo.of(rejected, undo, undone),
    )  # fmt: skip


def _event(
    page: Page,
    event_id: int,
    offset: int,
    *,
    status: int = 200,
    everything: bool = False,
    done: int | None = None,
    bulk: Bulk | None = None,
    pipeline: str = "",
    undo: Undo | None = None,
) -> Response:
    event, photos = events.get_event(page.db, page.me, event_id, limit=PER_PAGE, offset=offset)
    choice = pipeline_choice(page, event.project_id, pipeline)
    tracked, found, _ = occurrences.event_occurrences(
        page.db, page.me, event_id, limit=OCCURRENCES_SHOWN, offset=0, pipeline=choice.pipeline
    )
    boxes = occurrences.event_boxes(page.db, page.me, event_id, [p.id for p in photos])
    # One colour per occurrence, so that an individual can be followed along the strip.
    colours = {o.id: n % len(PALETTE) for n, o in enumerate(found)}
    deployment = deployments.get_deployment(page.db, page.me, event.deployment_id)
    project, role = projects.get_project(page.db, page.me, event.project_id)
    return page.render(
        "event.html",
        status=status,
        project=project,
        role=role,
        deployment=deployment,
        event=event,
        photos=photos,
        offset=offset,
        per_page=PER_PAGE,
        local_time=local_time,
        occurrences=found,
        occurrence_count=tracked,
        tracking_cap=MAX_BOXES,
        boxes=boxes,
        colours=colours,
        palette=PALETTE,
        can_edit=role.allows(Role.MEMBER),
        bulk=bulk or Bulk(selected={o.id for o in found} if everything else set()),
        everything=everything,
        here=links(f"/events/{event_id}", offset=offset or None, pipeline=pipeline or None),
        done=done,
        choice=choice,
        rejections=rejections_for(project.kind),
        undo=undo or Undo(),
        rejected_shown=sum(1 for o in found if o.rejected),
        quick=recent_taxa(page.db, page.me, event.project_id),
    )


@router.post("/events/{event_id}/identify")
def identify_ticked_occurrences(page: SignedIn, event_id: Id, form: PostedForm) -> Response:
    """Identify or reject the occurrences ticked on an event's page at once (members)."""
    event, _ = events.get_event(page.db, page.me, event_id, limit=1, offset=0)
    offset = form_offset(form.get("offset"))
    pipeline = str(form.get("pipeline") or "")[:MAX_PIPELINE_TEXT]
    try:
        made = identify_ticked(page, event.project_id, form)
    except (InvalidInput, NotFound) as exc:
        bulk = Bulk.of(form, error=exc.detail)
        return _event(page, event_id, offset, status=exc.status_code, bulk=bulk, pipeline=pipeline)
    back = links(f"/events/{event_id}", offset=offset or None, pipeline=pipeline or None)["none"]
    return page.redirect(made.after(back, "#occurrences"))


@router.post("/events/{event_id}/merge")
def merge_occurrences(page: SignedIn, event_id: Id, form: PostedForm) -> Response:
    """Merge the occurrences ticked on an event's page into one (members)."""
    ids = [form_id(v, "occurrence_ids") for v in form.getlist("occurrence_ids")]
    occurrences.merge(page.db, page.me, event_id, ids)
    return page.redirect(f"/events/{event_id}")


@router.post("/occurrences/{occurrence_id}/split")
def split_occurrence(page: SignedIn, occurrence_id: Id, form: PostedForm) -> Response:
    """Move the detections ticked on an occurrence's page into a new occurrence (members)."""
    ids = [form_id(v, "detection_ids") for v in form.getlist("detection_ids")]
    kept, _ = occurrences.split(page.db, page.me, occurrence_id, ids)
    return page.redirect(f"/events/{kept.event_id}")


@router.post("/deployments/{deployment_id}/event-rule")
def set_deployment_rule(page: SignedIn, deployment_id: Id, form: PostedForm) -> Response:
    """Set a deployment's own event rule, or follow its project's; regrouped in the background."""
    values: dict[str, object] = {k: str(form.get(k) or "") for k in ("rule", "gap_seconds")}
    checked, errors = validate(DeploymentRuleIn, values)
    if checked is None:
        problem = "; ".join(f"{field}: {message}" for field, message in errors.items())
        raise InvalidInput(problem)
    grouping = Grouping(EventRule(checked.rule), checked.gap_seconds) if checked.rule else None
    regrouping = events.set_deployment_rule(page.db, page.me, deployment_id, grouping)
    page.platform.regroupings.submit(regrouping.id)  # its progress shows on the page
    return page.redirect(f"/deployments/{deployment_id}")
