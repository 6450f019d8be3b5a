"""Evaluation sets: a project's sets and the form that freezes one, and a set's page where
one or two model versions are scored against it side by side, with the scores as CSV."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query
from starlette.responses import Response

from trapline.errors import Conflict, InvalidInput
from trapline.evaluation.sets import EvaluationSet
from trapline.http.params import Id
from trapline.protocol.base import ONE_LINE
from trapline.schemas.evaluation import EvaluationSetIn, ScoresOut
from trapline.services.ecology import counting
from trapline.services.photos import deployments, projects
from trapline.services.review import evaluation
from trapline.web.forms import validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: The form's fields, as typed.
FIELDS = ("name", "deployment_id", "since", "until", "taxa")
#: A version as the pages name it: ``slug@N`` (or a slug alone: its newest version).
SideText = Annotated[str, Query(max_length=266, pattern=ONE_LINE)]


def _sets_page(page: Page, project_id: int, *, status: int = 200, **extra: object) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    _, places = deployments.list_deployments(page.db, page.me, project_id, limit=500, offset=0)
    context: dict[str, object] = {"errors": {}, "values": dict.fromkeys(FIELDS, ""), **extra}
    return page.render(
        "evaluation_sets.html",
        status=status,
        project=project,
        role=role,
        sets=evaluation.list_sets(page.db, page.me, project_id),
        deployments=places,
        **context,
    )


@router.get("/projects/{project_id}/evaluation")
def evaluation_sets(page: SignedIn, project_id: Id) -> Response:
    """A project's evaluation sets, and the form that freezes a new one."""
    return _sets_page(page, project_id)


@router.post("/projects/{project_id}/evaluation")
def create_set(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Freeze the project's identifications into a named set (members)."""
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    given: dict[str, object] = dict(values)
    given["taxa"] = [t.strip() for t in values["taxa"].split(",") if t.strip()]
    checked, errors = validate(EvaluationSetIn, given)
    if checked is not None:
        try:
            made, _ = evaluation.create_set(
                page.db, page.me, project_id, checked.name, deployment_id=checked.deployment_id,
                since=checked.since, until=checked.until, taxa=checked.taxa,
            )  # fmt: skip
        except Conflict as exc:
            errors = {"name": exc.detail}
        except InvalidInput as exc:
            errors = {exc.field if exc.field in FIELDS else "name": exc.detail}
        else:
            return page.redirect(f"/evaluation-sets/{made.id}")
    return _sets_page(page, project_id, status=400, errors=errors, values=values)


@router.get("/evaluation-sets/{set_id}")
def evaluation_set(page: SignedIn, set_id: Id, a: SideText = "", b: SideText = "") -> Response:
    """A set, and one or two versions scored against it side by side."""
    found = evaluation.get_set(page.db, page.me, set_id)
    project, role = projects.get_project(page.db, page.me, found.project_id)
    versions = evaluation.versions_of(page.db, page.me, found.project_id)
    chosen = {"a": a.strip() or _first(page, found.project_id, versions), "b": b.strip()}
    scored: list[tuple[str, ScoresOut]] = []
    errors: dict[str, str] = {}
    for field in ("a", "b"):
        if not chosen[field]:
            continue
        try:
            slug, version = evaluation.parse_side(chosen[field], field)
            got = evaluation.score(page.db, page.me, set_id, slug, version)
        except InvalidInput as exc:
            errors[field] = exc.detail.removeprefix("pipeline: ").removeprefix("version: ")
            continue
        scored.append((chosen[field], ScoresOut.of(got)))
    return page.render(
        "evaluation_set.html",
        status=400 if errors else 200,
        project=project,
        role=role,
        set=found,
        empty=evaluation.empty_note(found) if found.size == 0 else None,
        versions=versions,
        chosen=chosen,
        scored=scored,
        rows=_side_by_side(scored),
        errors=errors,
        place=_place(page, found),
    )


def _first(page: Page, project_id: int, versions: list[str]) -> str:
    """The version a set's page opens on: the newest of what the project counts by, else the
    last of all."""
    counted = counting.counting_summary(page.db, page.me, project_id, tracked=False).pipeline
    mine = [v for v in versions if counted and v.startswith(f"{counted}@")]
    return (mine or versions or [""])[-1]


def _place(page: Page, found: EvaluationSet) -> str | None:
    if found.deployment_id is None:
        return None
    return deployments.get_deployment(page.db, page.me, found.deployment_id).name


def _side_by_side(scored: list[tuple[str, ScoresOut]]) -> list[dict[str, Any]]:
    """Per taxon of any side: its name, members, and each side's figures (None: not there)."""
    rows: dict[str, dict[str, Any]] = {}
    for n, (_, scores) in enumerate(scored):
        for t in scores.taxa:
            row = rows.setdefault(
                t.scientific_name,
                {"name": t.scientific_name, "members": t.members, "sides": [None] * len(scored)},
            )
            row["members"] = max(row["members"], t.members)
            row["sides"][n] = t
    return sorted(rows.values(), key=lambda r: (-r["members"], r["name"]))


@router.get("/evaluation-sets/{set_id}/scores.csv")
def scores_csv(
    page: SignedIn,
    set_id: Id,
    side: SideText,
    table: Annotated[Literal["taxa", "confusion"], Query()] = "taxa",
) -> Response:
    """A version's scores on the set as CSV: a row per taxon, or the confusion table."""
    slug, version = evaluation.parse_side(side, "side")
    scored = evaluation.score(page.db, page.me, set_id, slug, version)
    write = evaluation.scores_csv if table == "taxa" else evaluation.confusion_csv
    name, text = write(scored)
    response = Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    page.finish(response)
    return response
