"""The projects a person belongs to, a new project, and a project's home page with its
settings: its default time zone, and the licence and contacts publishing its data names."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.domain.core.event_rules import EventRule, Grouping, ProjectKind
from trapline.domain.core.records import Contact
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.schemas.counts import CountingIn
from trapline.schemas.events import RuleIn
from trapline.schemas.projects import ContactIn, ProjectPatch
from trapline.services.ecology import carrying, counting, events
from trapline.services.photos import deployments, projects
from trapline.services.processing import jobs
from trapline.services.review import reviews
from trapline.web.forms import one_line, text_block, validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.views import job_row

router = page_router()

#: Projects per page of the list.
PER_PAGE = 50
#: What the new-project form offers as a project's kind, and what each means.
KINDS = {
    ProjectKind.LIGHT_TRAP: "Light trap: insects at a lit sheet, counted by night",
    ProjectKind.CAMERA_TRAP: "Camera trap: animals in bursts, counted by sequences (60 s gaps)",
    ProjectKind.OTHER: "Other: counted by night",
}
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
        kinds=KINDS,
    )


@router.post("/projects")
def create_project(page: SignedIn, form: PostedForm) -> Response:
    """Create a project; you become its owner."""
    values = {
        "name": str(form.get("name") or ""),
        "description": str(form.get("description") or ""),
        "kind": str(form.get("kind") or "other"),
    }
    errors = {}
    if values["kind"] not in set(ProjectKind):
        kinds = ", ".join(k.value for k in ProjectKind)
        errors["kind"] = f"kind: one of {kinds} (got {values['kind'][:40]!r})"
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
            kinds=KINDS,
        )
    kind = ProjectKind(values["kind"])
    project = projects.create_project(page.db, page.me, name, description, kind=kind)
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
    publishing: dict[str, str] | None = None,
    rule: dict[str, str] | None = None,
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
    labels, occurrence_labels = reviews.project_labels(page.db, page.me, project_id)
    return page.render(
        "project.html",
        status=status,
        project=project,
        role=role,
        deployments=found_deployments,
        deployment_count=deployment_count,
        jobs=[job_row(j, counts[j.id]) for j in recent],
        job_count=job_count,
        labels=labels,
        counting=counting.counting_summary(page.db, page.me, project_id),
        rule=rule or {"rule": project.event_rule, "gap_seconds": str(project.event_gap_seconds)},
        occurrence_labels=occurrence_labels,
        errors=errors or {},
        zone=zone if zone is not None else project.time_zone,
        publishing=publishing
        or {"licence": project.licence, "contacts": contact_lines(project.contacts)},
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


@router.post("/projects/{project_id}/counting")
def set_counting(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Choose the pipeline every deployment with its results counts by, but those a person
    chose for on their own; none leaves each as it is (managers)."""
    chosen = str(form.get("counting_pipeline") or "").strip()
    checked, errors = validate(ProjectPatch, {"counting_pipeline": chosen})
    if checked is None:
        return _home(page, project_id, status=400, errors=errors)
    try:
        projects.update_project(page.db, page.me, project_id, counting_pipeline=chosen or None)
    except InvalidInput as exc:
        return _home(page, project_id, status=400, errors={"counting_pipeline": exc.detail})
    return page.redirect(f"/projects/{project_id}#counting")


@router.post("/projects/{project_id}/deployments/{deployment_id}/counting")
def set_deployment_counting(
    page: SignedIn, project_id: Id, deployment_id: Id, form: PostedForm
) -> Response:
    """Choose the pipeline one deployment counts by (managers)."""
    field = f"pipeline-{deployment_id}"
    checked, errors = validate(CountingIn, {"pipeline": str(form.get("pipeline") or "").strip()})
    if checked is None:
        return _home(page, project_id, status=400, errors={field: " ".join(errors.values())})
    try:
        carrying.choose_counting(
            page.db, page.me, deployment_id, checked.pipeline, project_id=project_id
        )
    except InvalidInput as exc:
        return _home(page, project_id, status=400, errors={field: exc.detail})
    return page.redirect(f"/projects/{project_id}#counting")


@router.post("/projects/{project_id}/event-rule")
def set_event_rule(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Set how the project's deployments that name no rule group their photos (managers);
    they are regrouped in the background."""
    values = {k: str(form.get(k) or "").strip() for k in ("rule", "gap_seconds")}
    checked, errors = validate(RuleIn, dict[str, object](values))
    if checked is None:
        return _home(page, project_id, status=400, errors=errors, rule=values)
    grouping = Grouping(EventRule(checked.rule), checked.gap_seconds)
    regrouping = events.set_project_rule(page.db, page.me, project_id, grouping)
    page.platform.regroupings.submit(regrouping.id)
    return page.redirect(f"/projects/{project_id}#counting")


@router.post("/projects/{project_id}/publishing")
def set_publishing(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Change what publishing the project's data names: its licence and contacts (managers)."""
    values = {
        "licence": str(form.get("licence") or ""),
        "contacts": str(form.get("contacts") or ""),
    }
    licence = values["licence"].strip()
    _, errors = validate(ProjectPatch, {"licence": licence})
    try:
        contacts = read_contacts(values["contacts"])
    except InvalidInput as exc:
        errors["contacts"] = exc.detail
    if errors:
        return _home(page, project_id, status=400, errors=errors, publishing=values)
    projects.update_project(
        page.db, page.me, project_id, licence=licence, contacts=tuple(c.record() for c in contacts)
    )
    return page.redirect(f"/projects/{project_id}#publishing")


#: The most contacts a project names (as the API takes them).
MAX_CONTACTS = 20
#: A contact's first part: a name, then an email in angle brackets.
_NAMED = re.compile(r"^(?P<name>[^<>]*?)\s*(?:<(?P<email>[^<>]*)>)?$")


def contact_lines(contacts: Sequence[Contact]) -> str:
    """Contacts as the form shows them, one a line: ``name <email>; organisation; role``."""
    lines = []
    for c in contacts:
        first = f"{c.name} <{c.email}>" if c.email else c.name
        lines.append("; ".join([first, c.organisation, c.role]))
    return "\n".join(lines)


def read_contacts(text: str) -> list[ContactIn]:
    """The contacts of the form's lines, checked as the API checks them; InvalidInput saying
    what is wrong with each bad line."""
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1) if line.strip()]
    if len(lines) > MAX_CONTACTS:
        raise InvalidInput(f"contacts: at most {MAX_CONTACTS}, one a line (got {len(lines)})")
    found: list[ContactIn] = []
    problems: list[str] = []
    for n, line in lines:
        # The organisation is all between the first and the last semicolon: its own semicolons
        # ("Museum; Entomology") come back as they were shown.
        first, _, rest = line.partition(";")
        parts = [first.strip(), *(part.strip() for part in _after_name(rest))]
        named = _NAMED.match(parts[0])
        if named is None:
            problems.append(f"line {n}: write name <email>; organisation; role")
            continue
        email = (named["email"] or "").strip()
        if "@" in named["name"] or (email and "@" not in email):
            problems.append(f"line {n}: put the email in angle brackets: Ann Lee <ann@example.org>")
            continue
        values = {"name": named["name"], "email": email, "organisation": "", "role": ""}
        values.update(zip(("organisation", "role"), parts[1:], strict=False))
        checked, errors = validate(ContactIn, values)
        if checked is None:
            problems.append(f"line {n}: " + "; ".join(errors.values()))
            continue
        found.append(checked)
    if problems:
        raise InvalidInput("contacts: " + " · ".join(problems))
    return found


def _after_name(rest: str) -> list[str]:
    """The organisation and the role of what follows a contact's name (none, one or both)."""
    if not rest:
        return []
    organisation, semicolon, role = rest.rpartition(";")
    return [organisation, role] if semicolon else [rest]
