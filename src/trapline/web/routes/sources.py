"""Pull sources: the list, adding one, a source's settings and runs, run now, a run's failures.

Managers add, change, run and delete sources; every member sees them. Stored credentials are
never shown, only whether each is set.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.domain.sources.sources import PullSource
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.schemas.sources import SourceIn
from trapline.services.photos import deployments, projects
from trapline.services.processing import job_offer
from trapline.services.sources import sources
from trapline.services.sources.sources import DEFAULT_MAX_FILES, DEFAULT_SCHEDULE
from trapline.sources import KINDS
from trapline.sources.base import DEFAULT_INCLUDE
from trapline.web.forms import validate
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: Sources, runs or failed files per page.
PER_PAGE = 25
#: A run's counters, as its page shows them and its progress answer gives them.
RUN_COUNTERS = ("listed", "new", "imported", "duplicates", "failed", "skipped")

#: The form's fields as typed, besides the credentials and the enabled box.
FIELDS = (
    "name", "kind", "url", "endpoint_url", "include", "exclude", "depth", "schedule",
    "max_files", "pipeline", "deployment_id",
)  # fmt: skip
#: Every credential a kind takes, with its label; the form shows those of the kind picked.
CREDENTIALS = {
    "username": "User name",
    "password": "Password",
    "authorization": "Authorization header value",
    "access_key_id": "Access key id",
    "secret_access_key": "Secret access key",
}
#: Credentials typed as passwords (never shown as typed).
SECRET_CREDENTIALS = frozenset({"password", "authorization", "secret_access_key"})

#: Where the service's complaints about a source belong on the form, by their first words.


def _values(source: PullSource | None) -> dict[str, Any]:
    """The form's fields filled from a source, or with the defaults of a new one."""
    if source is None:
        return {
            **dict.fromkeys(FIELDS, ""),
            "kind": "http_directory",
            "include": " ".join(DEFAULT_INCLUDE),
            "depth": "0",
            "schedule": DEFAULT_SCHEDULE,
            "max_files": str(DEFAULT_MAX_FILES),
            "enabled": True,
        }
    return {
        "name": source.name,
        "kind": source.kind,
        "url": source.url,
        "endpoint_url": source.endpoint_url or "",
        "include": " ".join(source.include),
        "exclude": " ".join(source.exclude),
        "depth": str(source.depth),
        "schedule": source.schedule,
        "max_files": str(source.max_files),
        "pipeline": source.pipeline or "",
        "deployment_id": str(source.deployment_id or ""),
        "enabled": source.enabled,
    }


def _typed(form: FormData) -> tuple[dict[str, Any], dict[str, str]]:
    """What the form holds: its fields as typed, and the credentials given (never echoed)."""
    values: dict[str, Any] = {k: str(form.get(k) or "") for k in FIELDS}
    values["enabled"] = form.get("enabled") == "on"
    given = {k: str(form.get(k) or "") for k in CREDENTIALS}
    return values, {k: v for k, v in given.items() if v}


def _checked(
    values: dict[str, Any], credentials: dict[str, str]
) -> tuple[SourceIn | None, dict[str, str]]:
    """The form checked by the API's own input model: the source, or messages by field."""
    given: dict[str, object] = {
        **{k: values[k].strip() for k in ("name", "kind", "url", "endpoint_url", "schedule")},
        **{k: values[k] for k in ("depth", "max_files", "deployment_id")},
        "pipeline": values["pipeline"].strip(),
        "include": values["include"].split() or None,
        "exclude": values["exclude"].split(),
        "credentials": credentials or None,
        "enabled": values["enabled"],
    }
    return validate(SourceIn, given)


def _field_of(exc: InvalidInput) -> str:
    """The form field a service's complaint is about (the URL unless it names another)."""
    return exc.field or "url"


def _choices(page: Page, project_id: int, current: PullSource | None) -> dict[str, object]:
    """What the form's selects offer: the project's deployments and enabled pipelines."""
    _, found = deployments.list_deployments(page.db, page.me, project_id, limit=500, offset=0)
    offered = job_offer.offered_pipelines(
        page.db, page.me, project_id, with_tests=page.platform.settings.http.show_test_pipelines
    )
    slugs = {p.pipeline.slug for p in offered.pipelines}
    if current is not None and current.pipeline:
        slugs.add(current.pipeline)  # kept on the form even when it was disabled since
    return {
        "deployments": found,
        "pipelines": sorted(slugs),
        "kinds": KINDS,
        "credential_fields": [
            (name, label, " ".join(k for k in KINDS if name in KINDS[k].credentials))
            for name, label in CREDENTIALS.items()
        ],
        "secret_credentials": SECRET_CREDENTIALS,
        "kinds_with_credentials": " ".join(k for k in KINDS if KINDS[k].credentials),
    }


def _source_list(
    page: Page, project_id: int, offset: int, *, status: int = 200, **extra: object
) -> Response:
    """The list page, with the add form holding ``extra`` (errors and values) when given."""
    project, role = projects.get_project(page.db, page.me, project_id)
    total, found = sources.list_sources(page.db, page.me, project_id, limit=PER_PAGE, offset=offset)
    context: dict[str, object] = {"errors": {}, "values": _values(None), **extra}
    return page.render(
        "sources.html",
        status=status,
        project=project,
        role=role,
        sources=found,
        last_runs=sources.last_runs(page.db, page.me, project_id, found),
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        can_manage=role.allows(Role.MANAGER),
        **_choices(page, project_id, None),
        **context,
    )


@router.get("/projects/{project_id}/sources")
def source_list(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """A project's pull sources with their last and next runs."""
    return _source_list(page, project_id, offset)


@router.post("/projects/{project_id}/sources")
def add_source(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Add a pull source (managers)."""
    values, credentials = _typed(form)
    checked, errors = _checked(values, credentials)
    if checked is not None:
        rules = page.platform.sources.rules
        try:
            made = sources.create_source(
                page.db, rules, page.me, project_id, **checked.model_dump(exclude_none=True)
            )
        except InvalidInput as exc:
            errors = {_field_of(exc): exc.detail}
        else:
            return page.redirect(f"/sources/{made.id}")
    return _source_list(page, project_id, 0, status=400, errors=errors, values=values)


def _detail(
    page: Page, source: PullSource, offset: int, *, status: int = 200, **extra: object
) -> Response:
    """The source page, with the settings form holding ``extra`` when given."""
    project, role = projects.get_project(page.db, page.me, source.project_id)
    total, runs = sources.list_runs(page.db, page.me, source.id, limit=PER_PAGE, offset=offset)
    context: dict[str, object] = {"errors": {}, "values": _values(source), **extra}
    deployment = None
    if source.deployment_id is not None:
        deployment = deployments.get_deployment(page.db, page.me, source.deployment_id)
    return page.render(
        "source.html",
        status=status,
        project=project,
        role=role,
        source=source,
        deployment=deployment,
        credentials={
            name: name in source.credential_names
            for name in sorted(KINDS[source.kind].credentials if source.kind in KINDS else ())
        },
        runs=runs,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        can_manage=role.allows(Role.MANAGER),
        **_choices(page, source.project_id, source),
        **context,
    )


@router.get("/sources/{source_id}")
def source_page(page: SignedIn, source_id: Id, offset: Offset = 0) -> Response:
    """A pull source: its settings and its runs, newest first."""
    return _detail(page, sources.get_source(page.db, page.me, source_id), offset)


@router.post("/sources/{source_id}")
def edit_source(page: SignedIn, source_id: Id, form: PostedForm) -> Response:
    """Change a source's settings (managers); typed credentials replace the stored ones."""
    current = sources.get_source(page.db, page.me, source_id, Role.MANAGER)
    values, credentials = _typed(form)
    checked, errors = _checked(values, credentials)
    if checked is not None:
        changes = checked.model_dump(exclude={"credentials"})
        changes["include"] = changes["include"] or list(DEFAULT_INCLUDE)
        if checked.credentials:
            changes["credentials"] = checked.credentials
        elif form.get("clear_credentials") == "on":
            changes["credentials"] = None
        rules = page.platform.sources.rules
        try:
            sources.update_source(page.db, rules, page.me, source_id, **changes)
        except InvalidInput as exc:
            errors = {_field_of(exc): exc.detail}
        else:
            return page.redirect(f"/sources/{source_id}")
    return _detail(page, current, 0, status=400, errors=errors, values=values)


def _switch(page: Page, source_id: int, enabled: bool) -> Response:
    """Turn the source's schedule on or off, then back to its page."""
    sources.update_source(page.db, page.platform.sources.rules, page.me, source_id, enabled=enabled)
    return page.redirect(f"/sources/{source_id}")


@router.post("/sources/{source_id}/enable")
def enable_source(page: SignedIn, source_id: Id, _: PostedForm) -> Response:
    """Let the schedule run the source again (managers)."""
    return _switch(page, source_id, True)


@router.post("/sources/{source_id}/disable")
def disable_source(page: SignedIn, source_id: Id, _: PostedForm) -> Response:
    """Pause the source's schedule (managers); it can still be run by hand."""
    return _switch(page, source_id, False)


@router.post("/sources/{source_id}/run")
def run_now(page: SignedIn, source_id: Id, _: PostedForm) -> Response:
    """Run the source now (managers); the run goes on in the background, its page follows it."""
    run = sources.request_run(page.db, page.me, source_id)
    page.platform.sources.submit(source_id)
    return page.redirect(f"/sources/{source_id}/runs/{run.id}")


@router.get("/sources/{source_id}/delete")
def confirm_delete(page: SignedIn, source_id: Id) -> Response:
    """Ask before a source is deleted (managers)."""
    source = sources.get_source(page.db, page.me, source_id, Role.MANAGER)
    project, role = projects.get_project(page.db, page.me, source.project_id)
    return page.render("source_delete.html", project=project, role=role, source=source)


@router.post("/sources/{source_id}/delete")
def delete_source(page: SignedIn, source_id: Id, _: PostedForm) -> Response:
    """Delete a source with its runs (managers); its images stay."""
    source = sources.get_source(page.db, page.me, source_id, Role.MANAGER)
    sources.delete_source(page.db, page.me, source_id)
    return page.redirect(f"/projects/{source.project_id}/sources")


@router.get("/sources/{source_id}/runs/{run_id}")
def run_page(page: SignedIn, source_id: Id, run_id: Id, offset: Offset = 0) -> Response:
    """One run of a source: its counts, and the files it could not take with their errors."""
    source = sources.get_source(page.db, page.me, source_id)
    run = sources.get_run(page.db, page.me, source_id, run_id)
    total, failed = sources.run_failures(
        page.db, page.me, source_id, run_id, limit=PER_PAGE, offset=offset
    )
    project, role = projects.get_project(page.db, page.me, source.project_id)
    return page.render(
        "source_run.html",
        project=project,
        role=role,
        source=source,
        run=run,
        counters=RUN_COUNTERS,
        failed=failed,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
    )


@router.get("/sources/{source_id}/runs/{run_id}/progress")
def run_progress(page: SignedIn, source_id: Id, run_id: Id) -> Response:
    """The run's status and counters for the page's script, which asks once a second."""
    run = sources.get_run(page.db, page.me, source_id, run_id)
    body = {
        "status": run.status.value,
        "final": run.status.final,
        **{field: getattr(run, field) for field in RUN_COUNTERS},
    }
    response = JSONResponse(body)
    page.finish(response)
    return response
