"""Exports: the list with live progress, starting one, an export's page, download, cancel,
delete.

Every member, viewers too, may export; an export's creator or a manager may cancel or delete it.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.responses import JSONResponse, RedirectResponse, Response

from trapline.domain.core.roles import Role
from trapline.domain.exports.exports import Export, ExportFilters, ExportFormat, ExportStatus
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.http.urls import absolute_url
from trapline.schemas.exports import ExportIn
from trapline.services.exports import exports
from trapline.services.photos import collections, deployments, projects
from trapline.services.pipelines import pipelines
from trapline.services.processing import jobs
from trapline.services.taxa import taxa
from trapline.web import export_tables
from trapline.web.forms import validate
from trapline.web.pages import Offset, Page, PostedForm, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import pick_taxon

router = page_router()

#: Exports per page of the list.
PER_PAGE = 25
#: Jobs the form offers as a filter (the newest).
JOBS_OFFERED = 100

#: The form's fields as typed, besides its boxes.
FIELDS = (
    "format", "deployment_id", "date_from", "date_to", "collection_id", "job_id", "pipeline",
    "pipeline_version", "min_confidence", "observation_level",
)  # fmt: skip
BOXES = ("reviewed_only", "include_empty", "all_runs")
#: What each format is for, as the form offers it.
FORMATS = {
    ExportFormat.CSV: "CSV: one row per detection, for spreadsheets, R and pandas",
    ExportFormat.CAMTRAP_DP: "Camtrap DP: a data package for GBIF and camtraptor",
    ExportFormat.MEGADETECTOR: "MegaDetector batch output: for Timelapse and AddaxAI",
    ExportFormat.COCO: "COCO: for training and evaluation",
    ExportFormat.DWCA: "Darwin Core Archive: one record per occurrence, for GBIF",
    ExportFormat.OCCURRENCES_CSV: "Occurrences (CSV): one row per occurrence, as Antenna's",
    ExportFormat.OCCURRENCES_JSON: "Occurrences (JSON): the same rows as JSON",
    ExportFormat.RECORD_TABLE: "camtrapR's record table: a row per independent record",
    ExportFormat.CAMERA_OPERATION: "camtrapR's camera operation: a row per station, a column "
    "per day",
    ExportFormat.DETECTION_HISTORY: "camtrapR's detection history of a taxon: a row per "
    "station, a column per occasion",
}
#: The observation levels of a Camtrap DP package, as the form offers them.
LEVELS = {
    "media": "per detection, and per event beside them",
    "event": "per event and taxon only, counting individuals",
}


def _typed(form: FormData) -> dict[str, Any]:
    """The form's fields as typed, its boxes as ticked or not, and camtrapR's settings."""
    values: dict[str, Any] = {k: str(form.get(k) or "").strip() for k in FIELDS}
    values.update({k: form.get(k) == "on" for k in BOXES})
    values.update(export_tables.typed(form))
    return values


def _checked(
    page: Page, project_id: int, values: dict[str, Any]
) -> tuple[ExportIn | None, dict[str, str]]:
    """The form checked by the API's own input model: the export asked for, or messages by
    field. camtrapR's settings left at their defaults are not sent; the taxon's text is read
    back into the taxon it names."""
    sent = {k: values[k] for k in (*FIELDS, *BOXES)} | export_tables.given(values)
    errors: dict[str, str] = {}
    if values["taxon"]:
        try:
            sent["taxon_id"] = pick_taxon(page, project_id, values["taxon"], "taxon").id
        except InvalidInput as exc:
            errors["taxon"] = exc.detail
    checked, problems = validate(ExportIn, sent)
    errors.update({_field(k): v for k, v in problems.items()})
    return (None, errors) if errors else (checked, {})


def _field(name: str) -> str:
    """The form's field a message about ``name`` belongs beside."""
    if name == "taxon_id":
        return "taxon"
    known = (*FIELDS, *BOXES, *export_tables.DEFAULTS, export_tables.BOX)
    return name if name in known else "format"


def _names(page: Page, project_id: int, shown: list[ExportFilters]) -> dict[str, Any]:
    """The project's deployments, collections, recent jobs and pipelines, for the form and
    for saying what an export's filters are, and the taxa the ``shown`` exports' filters
    name."""
    _, found_deployments = deployments.list_deployments(
        page.db, page.me, project_id, limit=500, offset=0
    )
    _, found_collections = collections.list_collections(
        page.db, page.me, project_id, limit=500, offset=0
    )
    _, found_jobs, _ = jobs.list_jobs(
        page.db, page.me, project_id=project_id, limit=JOBS_OFFERED, offset=0, with_counts=False
    )
    slugs = {p.pipeline.slug for p in pipelines.list_pipelines(page.db, page.me, project_id)}
    taxon_ids = {f.taxon_id for f in shown if f.taxon_id is not None}
    found_taxa = taxa.taxa_by_ids(page.db, page.me, project_id, taxon_ids) if taxon_ids else {}
    return {
        "deployments": found_deployments,
        "collections": found_collections,
        "jobs": found_jobs,
        "pipelines": sorted(slugs),
        "taxa": {i: t.scientific_name for i, t in found_taxa.items()},
    }


def describe_filters(filters: ExportFilters, names: dict[str, Any]) -> list[str]:
    """An export's filters in words (``deployment Trap A``, ``from 2024-06-01``)."""
    named = {
        "deployment_id": {d.id: d.name for d in names["deployments"]},
        "collection_id": {c.id: c.name for c in names["collections"]},
        "taxon_id": names.get("taxa", {}),
    }
    words = []
    for field, value in filters.as_json().items():
        if field in named:
            words.append(f"{field[:-3]} {named[field].get(value, f'#{value}')}")
        elif field == "job_id":
            words.append(f"job #{value}")
        elif isinstance(value, bool):
            words.append(field.replace("_", " ") if value else f"not {field.replace('_', ' ')}")
        else:
            words.append(f"{field.replace('_', ' ')} {value}")
    return words


def _may_act(page: Page, export: Export, role: Role) -> bool:
    """Whether the visitor may cancel or delete the export (its creator or a manager)."""
    return export.created_by == page.me.id or role.allows(Role.MANAGER)


def _export_list(
    page: Page, project_id: int, offset: int, *, status: int = 200, **extra: object
) -> Response:
    """The list page, with the form holding ``extra`` (errors and values) when given."""
    project, role = projects.get_project(page.db, page.me, project_id)
    total, found = exports.list_exports(page.db, page.me, project_id, limit=PER_PAGE, offset=offset)
    names = _names(page, project_id, [e.filters for e in found])
    empty: dict[str, Any] = {
        **dict.fromkeys(FIELDS, ""),
        **dict.fromkeys(BOXES, False),
        **export_tables.shown_empty(),
    }
    context: dict[str, object] = {"errors": {}, "values": empty, **extra}
    return page.render(
        "exports.html",
        status=status,
        project=project,
        role=role,
        exports=[(e, describe_filters(e.filters, names), _may_act(page, e, role)) for e in found],
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        formats=FORMATS,
        levels=LEVELS,
        choices=export_tables.CHOICES,
        groups={g: " ".join(f.value for f in fs) for g, fs in export_tables.GROUPS.items()},
        **names,
        **context,
    )


@router.get("/projects/{project_id}/exports")
def export_list(page: SignedIn, project_id: Id, offset: Offset = 0) -> Response:
    """A project's exports, newest first, with live progress."""
    return _export_list(page, project_id, offset)


@router.post("/projects/{project_id}/exports")
def start_export(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Start an export of the project's images and results (viewers too)."""
    values = _typed(form)
    checked, errors = _checked(page, project_id, values)
    if checked is not None:
        runner = page.platform.exports
        try:
            exports.create_export(
                page.db, runner, page.me, project_id, checked.format, checked.filters()
            )
        except InvalidInput as exc:
            errors = {_field(exc.field or ""): exc.detail}
        else:
            return page.redirect(f"/projects/{project_id}/exports")
    return _export_list(page, project_id, 0, status=400, errors=errors, values=values)


@router.get("/exports/{export_id}")
def export_page(page: SignedIn, export_id: Id) -> Response:
    """An export: status, progress, counts, the problems met, its file."""
    export = exports.get_export(page.db, page.me, export_id)
    project, role = projects.get_project(page.db, page.me, export.project_id)
    return page.render(
        "export.html",
        project=project,
        role=role,
        export=export,
        filters=describe_filters(export.filters, _names(page, export.project_id, [export.filters])),
        may_act=_may_act(page, export, role),
    )


@router.get("/exports/{export_id}/progress")
def progress(page: SignedIn, export_id: Id) -> Response:
    """The export's status and counters for the page's script, which asks once a second."""
    export = exports.get_export(page.db, page.me, export_id)
    ready = export.status is ExportStatus.SUCCEEDED
    body = {
        "status": export.status.value,
        "final": export.status.final,
        "percent": int(100 * export.progress),
        "done": export.images_done,
        "total": export.images_total or 0,
        "rows": export.counts.get("rows", 0),
        "images": export.counts.get("images", 0),
        "download": f"/exports/{export.id}/download" if ready else None,
    }
    response = JSONResponse(body)
    page.finish(response)
    return response


@router.get("/exports/{export_id}/download")
def download(page: SignedIn, export_id: Id) -> Response:
    """The export's file: a redirect to the same signed, expiring link the API gives."""
    settings = page.platform.settings
    url = exports.download_url(
        page.db, page.platform.store, page.me, export_id, expires_in=settings.storage.signed_url_ttl
    )
    response = RedirectResponse(absolute_url(settings, url), status_code=303)
    page.finish(response)
    return response


@router.post("/exports/{export_id}/cancel")
def cancel(page: SignedIn, export_id: Id, _: PostedForm) -> Response:
    """Stop a queued or running export (its creator or a manager)."""
    exports.cancel_export(page.db, page.me, export_id)
    return page.redirect(f"/exports/{export_id}")


@router.get("/exports/{export_id}/delete")
def confirm_delete(page: SignedIn, export_id: Id) -> Response:
    """Ask before an export and its file are deleted (its creator or a manager)."""
    export = exports.get_own_export(page.db, page.me, export_id)
    project, role = projects.get_project(page.db, page.me, export.project_id)
    return page.render("export_delete.html", project=project, role=role, export=export)


@router.post("/exports/{export_id}/delete")
def delete(page: SignedIn, export_id: Id, _: PostedForm) -> Response:
    """Delete an export and its file (its creator or a manager)."""
    export = exports.get_export(page.db, page.me, export_id)
    exports.delete_export(page.db, page.platform.store, page.me, export_id)
    return page.redirect(f"/projects/{export.project_id}/exports")
