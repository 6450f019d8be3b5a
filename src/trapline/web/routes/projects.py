"""The projects a person belongs to, a new project, and a project's home page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.schemas.projects import ProjectPatch
from trapline.services import deployments, jobs, projects, reviews
from trapline.web.forms import one_line, text_block, validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.views import job_row

router = page_router()

#: Projects per page of the list.
PER_PAGE = 50
Offset = Annotated[int, Query(ge=0, le=10**9)]


@router.get("/")
def home(page: SignedIn) -> Response:
    """The start page is the list of projects."""
    return page.redirect("/projects")


@router.get("/projects")
def project_list(page: SignedIn, offset: Offset = 0) -> Response:
    """The projects you belong to."""
    total, found = projects.list_projects(page.db, page.me, limit=PER_PAGE, offset=offset)
    return page.render(
        "projects.html",
        projects=found,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        errors={},
        values={},
    )


@router.post("/projects")
def create_project(page: SignedIn, form: PostedForm) -> Response:
    """Create a project; you become its owner."""
    values = {
        "name": str(form.get("name") or ""),
        "description": str(form.get("description") or ""),
    }
    errors = {}
    try:
        name = one_line(values["name"], "name")
    except InvalidInput as exc:
        errors["name"] = exc.detail
    try:
        description = text_block(values["description"], "description")
    except InvalidInput as exc:
        errors["description"] = exc.detail
    if errors:
        total, found = projects.list_projects(page.db, page.me, limit=PER_PAGE, offset=0)
        return page.render(
            "projects.html",
            status=400,
            projects=found,
            total=total,
            offset=0,
            per_page=PER_PAGE,
            errors=errors,
            values=values,
        )
    project = projects.create_project(page.db, page.me, name, description)
    return page.redirect(f"/projects/{project.id}")


@router.get("/projects/{project_id}")
def project_home(page: SignedIn, project_id: Id) -> Response:
    """A project: images, deployments, recent jobs with progress, what the models found."""
    return _home(page, project_id)


def _home(
    page: Page,
    project_id: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    zone: str | None = None,
) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    deployment_count, found_deployments = deployments.list_deployments(
        page.db, page.me, project_id, limit=10, offset=0
    )
    job_count, recent, counts = jobs.list_jobs(
        page.db,
        page.me,
        project_id=project_id,
        limit=10,
        offset=0,
    )
    return page.render(
        "project.html",
        status=status,
        project=project,
        role=role,
        deployments=found_deployments,
        deployment_count=deployment_count,
        jobs=[job_row(j, counts[j.id]) for j in recent],
        job_count=job_count,
        labels=reviews.top_labels(page.db, page.me, project_id),
        occurrence_labels=reviews.occurrence_labels(page.db, page.me, project_id),
        errors=errors or {},
        zone=zone if zone is not None else project.time_zone,
    )


@router.post("/projects/{project_id}/time-zone")
def set_time_zone(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Change the project's default time zone (managers); its images' capture times are
    re-read in the background."""
    zone = str(form.get("time_zone") or "").strip()
    checked, errors = validate(ProjectPatch, {"time_zone": zone or "UTC"})
    if checked is None:
        return _home(page, project_id, status=400, errors=errors, zone=zone)
    _, reread = projects.update_project(page.db, page.me, project_id, **checked.changes())
    if reread is not None:
        page.platform.rereads.submit(reread.id)
    return page.redirect(f"/projects/{project_id}")
