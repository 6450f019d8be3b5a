"""Jobs: the list with live progress, starting one (re-running the photos its pipeline version
analysed already, when asked), cancel and retry, the job page."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.domain.processing.jobs import JobParams, TaskStatus
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.protocol.base import MAX_SLUG
from trapline.services.photos import collections, deployments, projects
from trapline.services.processing import job_offer, jobs, reruns, tasks
from trapline.services.processing.reruns import Analysed
from trapline.web.counting_choice import PipelineText
from trapline.web.forms import MAX_NUMBER, form_id, one_line, typed_number
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.pipeline_choices import chosen_choice, chosen_pipeline, job_choices
from trapline.web.routes import page_router
from trapline.web.routes.images import GridQuery
from trapline.web.views import job_row

router = page_router()

#: Jobs per page of the list.
PER_PAGE = 25
#: How the API names a run's threshold in its refusals (the form's field is "threshold").
API_THRESHOLD = "params.settings.threshold"


def _job_list(
    page: Page,
    project_id: int,
    offset: int,
    *,
    status: int = 200,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    grid: dict[str, object] | None = None,
) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    total, found, counts = jobs.list_jobs(
        page.db,
        page.me,
        project_id=project_id,
        limit=PER_PAGE,
        offset=offset,
    )
    settings = page.platform.settings
    offered = job_offer.offered_pipelines(
        page.db,
        page.me,
        project_id,
        with_tests=settings.http.show_test_pipelines,
        with_unregistered=True,
    )
    choices = job_choices(offered, settings.worker.weights_cache_dir, page.platform.clock)
    errors, values = errors or {}, values or {}
    chosen = values.get("pipeline") or offered.preselected or ""
    picked = chosen_choice(choices, chosen)
    refused = {c.slug: c for c in choices if c.refused}
    if "pipeline" in errors and values.get("pipeline") in refused:
        # No worker serves it in the project: say why in the person's words, not the API's.
        errors["pipeline"] = f"pipeline: not started. {refused[values['pipeline']].note}"
    _, found_deployments = deployments.list_deployments(
        page.db, page.me, project_id, limit=500, offset=0
    )
    _, found_collections = collections.list_collections(
        page.db, page.me, project_id, limit=500, offset=0
    )
    return page.render(
        "jobs.html",
        status=status,
        project=project,
        role=role,
        jobs=[job_row(j, counts[j.id]) for j in found],
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        can_start=role.allows(Role.MEMBER),
        choices=choices,
        preselected=offered.preselected,
        deployments=found_deployments,
        collections=found_collections,
        errors=errors,
        values=values,
        grid=grid,
        classifiers=[c.slug for c in choices if c.classifies_boxes],
        box_sources=offered.box_sources,
        chosen_threshold=picked.threshold if picked is not None else None,
        max_number=MAX_NUMBER,
    )


def _analysed(page: Page, project_id: int, pipeline: str, scope: str) -> Analysed | None:
    """What the form says of the photos a job would skip: None when the pipeline or the
    scope names nothing it can count (an unregistered built-in, a scope of another project)."""
    if not pipeline:
        return None
    try:
        selection = _scope_selection(scope)
    except InvalidInput:
        return None
    slug, version = chosen_pipeline(pipeline)
    try:
        return reruns.analysed_before(
            page.db, page.me, project_id, pipeline_slug=slug, pipeline_version=version,
            selection=selection,
        )  # fmt: skip
    except InvalidInput:
        return None


def analysed_note(found: Analysed | None) -> str:
    """What the job form says of the photos a job would skip (empty: nothing to say)."""
    if found is None or not found.selected:
        return ""
    by = f"{found.slug} v{found.version}"
    if not found.analysed:
        return f"None of the {found.selected:,} photos chosen was analysed by {by} yet."
    every = "All" if found.analysed == found.selected else f"{found.analysed:,} of the"
    return (
        f"{every} {found.selected:,} photos chosen were analysed by {by} already: a job skips "
        "them unless they are re-run."
    )


def _scope_selection(scope: str) -> dict[str, object]:
    """The selection a listed scope names ("project", "deployment:3", "collection:5")."""
    if scope.startswith(("deployment:", "collection:")):
        kind, _, number = scope.partition(":")
        try:
            return {f"{kind}_id": form_id(number, "scope")}
        except InvalidInput:
            raise InvalidInput("scope: pick one of the listed image sets") from None
    if scope in ("", "project"):
        return {}
    raise InvalidInput("scope: pick one of the listed image sets")


@router.get("/projects/{project_id}/jobs/analysed")
def analysed_count(
    page: SignedIn, project_id: Id, pipeline: PipelineText = "", scope: PipelineText = ""
) -> Response:
    """How many of the photos a scope names a pipeline version analysed already: the job
    form's script asks when the form is shown and as the choices change. The page itself does
    not count them: over a whole project the count reads every analysis of the version, which
    would make the page cost what the project holds."""
    projects.get_project(page.db, page.me, project_id)  # an outsider's 404, before anything
    found = _analysed(page, project_id, pipeline, scope or "project")
    body = {
        "selected": found.selected if found else None,
        "analysed": found.analysed if found else None,
        "pipeline": found.slug if found else None,
        "version": found.version if found else None,
        "note": analysed_note(found),
    }
    response = JSONResponse(body)
    page.finish(response)
    return response


@router.get("/projects/{project_id}/jobs")
def job_list(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """A project's jobs, newest first, with live progress bars."""
    return _job_list(page, project_id, offset)


@router.post("/projects/{project_id}/jobs")
def start_job(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Start a pipeline over the whole project, a deployment, a collection or the images a
    grid filter shows."""
    fields = ("pipeline", "scope", "name", "reprocess", "threshold", "boxes_from")
    values = {k: str(form.get(k) or "") for k in fields}
    errors: dict[str, str] = {}
    selection: dict[str, object] = {}
    scope = values["scope"]
    grid: dict[str, object] | None = None
    try:
        if scope == "filter":  # the image grid's filter, posted beside the scope
            query = GridQuery.from_form(form)
            selection["filter"] = query.image_filter().as_json()
            grid = query.query()
        else:
            selection = _scope_selection(scope)
    except InvalidInput as exc:
        errors["scope"] = exc.detail
    if values["reprocess"] not in ("", "yes"):
        errors["reprocess"] = "reprocess: tick the box, or leave it unticked"
    name = None
    try:
        name = one_line(values["name"], "name", required=False) or None
    except InvalidInput as exc:
        errors["name"] = exc.detail
    threshold = None
    try:
        threshold = typed_number(values, "threshold", 0, 1)
    except InvalidInput as exc:
        errors["threshold"] = exc.detail
    if not values["pipeline"]:
        errors["pipeline"] = "pipeline: pick one"
    if len(values["boxes_from"]) > MAX_SLUG:
        errors["boxes_from"] = "boxes_from: pick one of the listed pipelines"
    if not errors:
        slug, version = chosen_pipeline(values["pipeline"])
        try:
            job = jobs.create_job(
                page.db,
                page.me,
                project_id=project_id,
                pipeline_slug=slug,
                pipeline_version=version,
                selection=selection,
                name=name,
                start_now=True,
                params=JobParams(
                    reprocess=values["reprocess"] == "yes",
                    threshold=threshold,
                    boxes_from=values["boxes_from"] or None,
                ),
            )
        except InvalidInput as exc:
            errors[_field_of(exc)] = _in_form_words(exc)
        else:
            page.platform.starter.submit(job.id)
            return page.redirect(f"/jobs/{job.id}")
    return _job_list(page, project_id, 0, status=400, errors=errors, values=values, grid=grid)


def _field_of(exc: InvalidInput) -> str:
    """The form's field a refusal of the job is shown beside: its only parameter the API
    names ``params`` is the threshold."""
    if exc.field in ("pipeline", "pipeline_version"):
        return "pipeline"
    if exc.field == "boxes_from":
        return "boxes_from"
    return "threshold" if exc.field == "params" else "scope"


def _in_form_words(exc: InvalidInput) -> str:
    """A refusal as the form says it: the threshold by the field's name, not the API's."""
    if _field_of(exc) != "threshold":
        return exc.detail
    return "threshold" + exc.detail.removeprefix(API_THRESHOLD)


@router.get("/jobs/{job_id}")
def job_page(page: SignedIn, job_id: Id) -> Response:
    """A job: progress, speed, history, failed tasks and their errors."""
    detail = jobs.get_job(page.db, page.me, job_id)
    project, role = projects.get_project(page.db, page.me, detail.job.project_id)
    _, failed, _ = tasks.list_tasks(page.db, page.me, job_id, TaskStatus.FAILED, limit=50)
    return page.render(
        "job.html",
        project=project,
        role=role,
        detail=detail,
        row=job_row(detail.job, detail.counts),
        failed=failed,
        can_act=role.allows(Role.MEMBER),
    )


@router.get("/jobs/{job_id}/progress")
def progress(page: SignedIn, job_id: Id) -> Response:
    """The job's counters for the page's script, which asks once a second."""
    detail = jobs.get_job(page.db, page.me, job_id)
    row = job_row(detail.job, detail.counts)
    counts = detail.counts
    body = {
        "status": detail.job.status.value,
        "final": detail.job.status.is_final,
        "percent": row.percent,
        "done": row.done,
        "total": counts.total,
        "succeeded": counts.succeeded,
        "failed": counts.failed,
        "canceled": counts.canceled,
        "per_minute": round(detail.per_minute, 1),
        "eta_seconds": round(detail.eta_seconds) if detail.eta_seconds is not None else None,
    }
    response = JSONResponse(body)
    page.finish(response)
    return response


@router.post("/jobs/{job_id}/cancel")
def cancel(page: SignedIn, job_id: Id, _: PostedForm) -> Response:
    """Cancel a job: no task is handed out after this."""
    jobs.cancel_job(page.db, page.platform.queue, page.me, job_id)
    return page.redirect(f"/jobs/{job_id}")


@router.post("/jobs/{job_id}/retry")
def retry(page: SignedIn, job_id: Id, _: PostedForm) -> Response:
    """Give a job's failed tasks fresh tries."""
    jobs.retry_job(page.db, page.platform.queue, page.me, job_id)
    return page.redirect(f"/jobs/{job_id}")
