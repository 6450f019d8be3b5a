"""Comparing two pipelines, or two versions of one, on a deployment (docs/counting.md): the
boxes each drew on the photos both ran on, with crops, and what each counts there; a manager
chooses from it what the deployment counts by."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query
from starlette.responses import Response

from trapline.errors import InvalidInput
from trapline.http.params import Id, QueryId
from trapline.protocol.base import ONE_LINE
from trapline.schemas.evaluation import ScoresOut
from trapline.services.ecology import compare, counting
from trapline.services.photos import deployments, projects
from trapline.services.review import evaluation
from trapline.web.pages import SignedIn
from trapline.web.routes import page_router

router = page_router()

#: A side as the form sends it: a slug, or slug@version.
SideText = Annotated[str, Query(max_length=266, pattern=ONE_LINE)]


@router.get("/deployments/{deployment_id}/compare")
def compare_page(
    page: SignedIn,
    deployment_id: Id,
    a: SideText = "",
    b: SideText = "",
    evaluation_set: QueryId = None,
) -> Response:
    """Pick two sides, and see what each drew and counts on the deployment (and, with an
    evaluation set, how each scores on it)."""
    deployment = deployments.get_deployment(page.db, page.me, deployment_id)
    project, role = projects.get_project(page.db, page.me, deployment.project_id)
    sides = compare.sides_of(page.db, page.me, deployment_id)
    a, b = a.strip(), b.strip()
    if not a and not b:
        a, b = compare.first_sides(deployment, sides)
    found, errors = None, {}
    if a and b:
        try:
            found = compare.compare_deployment(page.db, page.me, deployment_id, a, b)
        except InvalidInput as exc:
            errors = {exc.field or "a": exc.detail}
    share = counting.version_share(page.db, page.me, deployment_id)
    sets = evaluation.list_sets(page.db, page.me, deployment.project_id)
    scored: list[ScoresOut] = []
    if evaluation_set is not None and found is not None:
        try:
            for side in (a, b):
                slug, version = evaluation.parse_side(side, "evaluation_set")
                got = evaluation.score(page.db, page.me, evaluation_set, slug, version)
                scored.append(ScoresOut.of(got))
        except InvalidInput as exc:
            errors["evaluation_set"], scored = exc.detail, []
    return page.render(
        "compare.html",
        status=400 if errors else 200,
        project=project,
        role=role,
        deployment=deployment,
        sides=sides,
        chosen={"a": a, "b": b},
        found=found,
        errors=errors,
        share=share,
        evaluation_sets=sets,
        evaluation_set=evaluation_set,
        scored=scored,
    )
