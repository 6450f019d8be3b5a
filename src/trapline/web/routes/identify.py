"""People's identifications: an occurrence's page with its determination, the history of its
identifications and (members) the form to identify it, agree or withdraw; and the queue of
occurrences that need a person's look, most needed first.

The occurrence's page is served here, before ``events.py``, because its identification panel
needs the history this module reads.
"""

from __future__ import annotations

from starlette.responses import Response

from trapline.domain.roles import Role
from trapline.domain.taxa import Taxon
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.services import deployments, identifications, occurrences, projects, taxa
from trapline.services.identifications import MODEL
from trapline.web.forms import form_id, text_block
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import pick_taxon
from trapline.web.timeline import local_time

router = page_router()

#: Occurrences per page of the queue.
PER_PAGE = 50


@router.get("/occurrences/{occurrence_id}")
def occurrence_page(page: SignedIn, occurrence_id: Id) -> Response:
    """An occurrence: its determination, identifications, and detections in photo order."""
    return _occurrence(page, occurrence_id)


def _occurrence(
    page: Page,
    occurrence_id: int,
    *,
    status: int = 200,
    error: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    found, sightings = occurrences.get_occurrence(page.db, page.me, occurrence_id)
    project, role = projects.get_project(page.db, page.me, found.project_id)
    deployment = deployments.get_deployment(page.db, page.me, found.deployment_id)
    history = identifications.history(page.db, page.me, occurrence_id)
    taxon = _taxon(page, found.project_id, found.taxon_id)
    return page.render(
        "occurrence.html",
        status=status,
        project=project,
        role=role,
        deployment=deployment,
        occurrence=found,
        sightings=sightings,
        local_time=local_time,
        can_edit=role.allows(Role.MEMBER),
        history=history,
        taxon=taxon,
        authors={str(i.id): i.user_name or "someone" for i in history},
        may_withdraw_any=role.allows(Role.MANAGER),
        identify_error=error,
        values=values or {},
    )


def _taxon(page: Page, project_id: int, taxon_id: int | None) -> Taxon | None:
    """The taxon an occurrence is counted under; None when none (or its list changed since)."""
    if taxon_id is None:
        return None
    return taxa.taxa_by_ids(page.db, page.me, project_id, [taxon_id]).get(taxon_id)


@router.post("/occurrences/{occurrence_id}/identify")
def identify(page: SignedIn, occurrence_id: Id, form: PostedForm) -> Response:
    """Identify an occurrence: name the taxon picked, or agree with the model or a person."""
    agree = str(form.get("agree_with") or "").strip()
    text = str(form.get("taxon") or "")
    values = {"taxon": text, "comment": str(form.get("comment") or "")}
    found, _ = occurrences.get_occurrence(page.db, page.me, occurrence_id)
    try:
        comment = text_block(values["comment"], "comment")
        if agree:
            agree_with: str | int = MODEL if agree == MODEL else form_id(agree, "agree_with")
            _, now = identifications.identify_occurrence(
                page.db, page.me, occurrence_id, agree_with=agree_with, comment=comment
            )
        else:
            taxon = pick_taxon(page, found.project_id, text, "taxon")
            _, now = identifications.identify_occurrence(
                page.db, page.me, occurrence_id, taxon_id=taxon.id, comment=comment
            )
    except InvalidInput as exc:
        return _occurrence(page, occurrence_id, status=400, error=exc.detail, values=values)
    return page.redirect(f"/occurrences/{now.id}#identification")


@router.post("/identifications/{identification_id}/withdraw")
def withdraw(page: SignedIn, identification_id: Id, form: PostedForm) -> Response:
    """Withdraw an identification (its author or a manager); it stays in the history."""
    now = identifications.withdraw(page.db, page.me, identification_id)
    if now is not None:
        return page.redirect(f"/occurrences/{now.id}#identification")
    # Its detection is in no occurrence any more: back to where the form was.
    return page.redirect(f"/occurrences/{form_id(form.get('occurrence') or '', 'occurrence')}")


@router.get("/projects/{project_id}/identify")
def identification_queue(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """Occurrences that need a person's look: people disagreeing, no species, least sure."""
    project, role = projects.get_project(page.db, page.me, project_id)
    total, found = identifications.queue(
        page.db, page.me, project_id, limit=PER_PAGE, offset=offset
    )
    return page.render(
        "identify_queue.html",
        project=project,
        role=role,
        occurrences=found,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        local_time=local_time,
    )
