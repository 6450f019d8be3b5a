"""Groups of unknown individuals: a project's groupings and the form that asks for one, and a
grouping's page, which follows it while it runs and then shows each group as crops with its
size and tightness, and a form to name the group (docs/evaluation.md)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.errors import InvalidInput, NotFound
from trapline.http.params import Id
from trapline.schemas.groupings import GroupingIn
from trapline.services.photos import deployments, projects
from trapline.services.review import evaluation, groupings
from trapline.web.forms import text_block, validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.identify import chosen_taxon
from trapline.web.routes.refits import feature_sources

router = page_router()

#: How many individuals a naming just identified, as the page's address says it.
NamedCount = Annotated[int | None, Query(ge=0, le=10**9)]
#: The form's fields, as typed.
FIELDS = ("name", "features_from", "deployment_id", "since", "until")


def _groupings_page(page: Page, project_id: int, *, status: int = 200, **extra: object) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    _, places = deployments.list_deployments(page.db, page.me, project_id, limit=500, offset=0)
    sources = feature_sources(evaluation.versions_of(page.db, page.me, project_id))
    context: dict[str, object] = {"errors": {}, "values": dict.fromkeys(FIELDS, ""), **extra}
    return page.render(
        "groupings.html",
        status=status,
        project=project,
        role=role,
        groupings=groupings.list_groupings(page.db, page.me, project_id),
        deployments=places,
        sources=sources,
        **context,
    )


@router.get("/projects/{project_id}/groupings")
def grouping_list(page: SignedIn, project_id: Id) -> Response:
    """A project's groupings of unknown individuals, and the form that asks for one."""
    return _groupings_page(page, project_id)


@router.post("/projects/{project_id}/groupings")
def create_grouping(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Group the project's unidentified individuals by their features (members)."""
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    checked, errors = validate(GroupingIn, dict(values))
    if checked is not None:
        try:
            made = groupings.create_grouping(
                page.db, page.platform.groupings, page.me, project_id, checked.features_from,
                name=checked.name, deployment_id=checked.deployment_id, since=checked.since,
                until=checked.until,
            )  # fmt: skip
        except InvalidInput as exc:
            errors = {exc.field if exc.field in FIELDS else "features_from": exc.detail}
        else:
            return page.redirect(f"/groupings/{made.id}")
    return _groupings_page(page, project_id, status=400, errors=errors, values=values)


@router.get("/groupings/{grouping_id}")
def grouping(page: SignedIn, grouping_id: Id, named: NamedCount = None) -> Response:
    """A grouping: where it is, then each group as crops with its size and tightness."""
    return _grouping_page(page, grouping_id, named=named)


def _grouping_page(
    page: Page,
    grouping_id: int,
    *,
    status: int = 200,
    named: int | None = None,
    error: tuple[int, str] | None = None,
    typed: str = "",
) -> Response:
    view = groupings.view_grouping(page.db, page.me, grouping_id)
    project, role = projects.get_project(page.db, page.me, view.grouping.project_id)
    return page.render(
        "grouping.html",
        status=status,
        project=project,
        role=role,
        grouping=view.grouping,
        left=view.left,
        samples=view.samples,
        final=view.grouping.status.final,
        can_name=role.allows(Role.MEMBER),
        named=named,
        error=error,
        typed=typed,
    )


@router.post("/groupings/{grouping_id}/groups/{number}/identify")
def name_group(page: SignedIn, grouping_id: Id, number: Id, form: PostedForm) -> Response:
    """Identify every individual of a group nobody identified since as the taxon picked."""
    found = groupings.get_grouping(page.db, page.me, grouping_id)
    typed = str(form.get("taxon") or "")
    try:
        comment = text_block(str(form.get("comment") or ""), "comment")
        taxon = chosen_taxon(page, found.project_id, form)
        made = groupings.name_group(page.db, page.me, grouping_id, number, taxon, comment=comment)
    except (InvalidInput, NotFound) as exc:
        return _grouping_page(
            page, grouping_id, status=exc.status_code, error=(number, exc.detail), typed=typed
        )
    return page.redirect(f"/groupings/{grouping_id}?named={made.identified}#group-{number}")


@router.get("/groupings/{grouping_id}/progress")
def grouping_progress(page: SignedIn, grouping_id: Id) -> Response:
    """The grouping's status for the page's script, which asks once a second until it ends."""
    found = groupings.get_grouping(page.db, page.me, grouping_id)
    done = 1.0 if found.status.final else found.progress or 0.0
    response = JSONResponse(
        {"status": found.status.value, "final": found.status.final, "percent": round(done * 100)}
    )
    page.finish(response)
    return response
