"""Detection scorers ("learn from our box reviews"): a project's scorers and the form that asks
for one, and a scorer's page, which follows it while it is fitted and then shows its weights
and how it did on nights it never saw, beside moth-blobs as it comes (docs/evaluation.md)."""

from __future__ import annotations

from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput
from trapline.http.params import Id
from trapline.schemas.detection_scorers import ScorerIn, ScorerOut
from trapline.services.photos import projects
from trapline.services.review import detection_scorers, scorer_promotion
from trapline.web.forms import validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: The form's fields, as typed.
FIELDS = ("name",)


def _scorers_page(page: Page, project_id: int, *, status: int = 200, **extra: object) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    context: dict[str, object] = {"errors": {}, "values": dict.fromkeys(FIELDS, ""), **extra}
    return page.render(
        "detection_scorers.html",
        status=status,
        project=project,
        role=role,
        scorers=detection_scorers.list_scorers(page.db, page.me, project_id),
        least=detection_scorers.MIN_INSECT_BOXES,
        **context,
    )


@router.get("/projects/{project_id}/detection-scorers")
def scorers(page: SignedIn, project_id: Id) -> Response:
    """A project's detection scorers, and the form that asks for one."""
    return _scorers_page(page, project_id)


@router.post("/projects/{project_id}/detection-scorers")
def create_scorer(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Refit moth-blobs' insect score on the project's box reviews (members)."""
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    checked, errors = validate(ScorerIn, dict(values))
    if checked is not None:
        try:
            made = detection_scorers.create_scorer(
                page.db, page.platform.scorers, page.me, project_id, checked.name
            )
        except (Conflict, InvalidInput) as exc:
            errors = {"name": exc.detail}
        else:
            return page.redirect(f"/detection-scorers/{made.id}")
    return _scorers_page(page, project_id, status=400, errors=errors, values=values)


@router.get("/detection-scorers/{scorer_id}")
def scorer(page: SignedIn, scorer_id: Id) -> Response:
    """A detection scorer: where its fit is, then its weights and held-out figures."""
    return _scorer_page(page, scorer_id)


@router.post("/detection-scorers/{scorer_id}/promote")
def promote(page: SignedIn, scorer_id: Id, form: PostedForm) -> Response:
    """Promote a fitted scorer (members): its job runs over the project's photos at once."""
    try:
        job = scorer_promotion.promote(page.db, page.me, scorer_id)
    except (InvalidInput, Conflict) as exc:
        return _scorer_page(page, scorer_id, promote_error=exc.detail, status=exc.status_code)
    page.platform.starter.submit(job.id)
    return page.redirect(f"/jobs/{job.id}")


def _scorer_page(
    page: Page, scorer_id: int, *, promote_error: str | None = None, status: int = 200
) -> Response:
    found = detection_scorers.get_scorer(page.db, page.me, scorer_id)
    project, role = projects.get_project(page.db, page.me, found.project_id)
    return page.render(
        "detection_scorer.html",
        status=status,
        project=project,
        role=role,
        scorer=ScorerOut.of(found),
        final=found.status.final,
        errors={"promote": promote_error} if promote_error else {},
        promoted=scorer_promotion.promoted_as(page.db, page.me, scorer_id),
        can_promote=role.allows(Role.MEMBER),
        slug=scorer_promotion.SCORER_SLUG,
    )


@router.get("/detection-scorers/{scorer_id}/progress")
def scorer_progress(page: SignedIn, scorer_id: Id) -> Response:
    """The scorer's status for the page's script, which asks once a second until it ends."""
    found = detection_scorers.get_scorer(page.db, page.me, scorer_id)
    done = 1.0 if found.status.final else found.progress or 0.0
    response = JSONResponse(
        {"status": found.status.value, "final": found.status.final, "percent": round(done * 100)}
    )
    page.finish(response)
    return response
