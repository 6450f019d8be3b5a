"""Refits ("learn from our identifications"): a project's refits and the form that asks for
one, and a refit's page, which follows it while it is fitted and then shows its
cross-validated figures (docs/evaluation.md)."""

from __future__ import annotations

from itertools import groupby
from typing import Annotated, Any

from fastapi import Query
from starlette.responses import JSONResponse, Response

from trapline.domain.core.roles import Role
from trapline.errors import Conflict, InvalidInput, NotFound
from trapline.evaluation.classifiers import CROPS
from trapline.evaluation.fits import FitStatus
from trapline.http.params import MAX_ID, Id
from trapline.schemas.classifiers import ClassifierIn, ClassifierOut, RefitScoresOut
from trapline.services.photos import projects
from trapline.services.review import classifiers, evaluation, promotion, refit_scores
from trapline.services.review.crop_features import Photos
from trapline.web.forms import validate
from trapline.web.pages import Page, PostedForm, SignedIn
from trapline.web.routes import page_router

router = page_router()

#: The form's fields, as typed.
FIELDS = ("name", "features_from")
#: The evaluation set a refit's page scores it against.
SetChoice = Annotated[int | None, Query(alias="set", ge=1, le=MAX_ID)]


def feature_sources(versions: list[str]) -> list[tuple[str, str]]:
    """What the form offers to read vectors from, as (value, label): each pipeline by its slug
    (every version of it), and each version apart when it has several (``slug@N``); then each
    pipeline's boxes described by trapline (``crops:slug``, decision 074)."""
    offered: list[tuple[str, str]] = []
    crops: list[tuple[str, str]] = []
    for slug, group in groupby(versions, key=lambda v: v.rpartition("@")[0]):
        mine = list(group)
        described = f"{slug}'s boxes, described by trapline (colour, pattern, size)"
        crops.append((f"{CROPS}{slug}", described))
        if len(mine) == 1:
            offered.append((slug, slug))
            continue
        offered.append((slug, f"{slug}, every version"))
        offered += [(v, f"{slug}, version {v.rpartition('@')[2]}") for v in mine]
    return offered + crops


def _refits_page(page: Page, project_id: int, *, status: int = 200, **extra: object) -> Response:
    project, role = projects.get_project(page.db, page.me, project_id)
    sources = feature_sources(evaluation.versions_of(page.db, page.me, project_id))
    context: dict[str, object] = {"errors": {}, "values": dict.fromkeys(FIELDS, ""), **extra}
    return page.render(
        "refits.html",
        status=status,
        project=project,
        role=role,
        refits=classifiers.list_classifiers(page.db, page.me, project_id),
        sources=sources,
        **context,
    )


@router.get("/projects/{project_id}/classifiers")
def refits(page: SignedIn, project_id: Id) -> Response:
    """A project's refits, and the form that asks for one."""
    return _refits_page(page, project_id)


@router.post("/projects/{project_id}/classifiers")
def create_refit(page: SignedIn, project_id: Id, form: PostedForm) -> Response:
    """Refit a classifier head on the project's identifications (members)."""
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    checked, errors = validate(ClassifierIn, dict(values))
    if checked is not None:
        try:
            made = classifiers.create_classifier(
                page.db, page.platform.refits, page.me, project_id, checked.name,
                checked.features_from,
            )  # fmt: skip
        except Conflict as exc:
            errors = {"name": exc.detail}
        except InvalidInput as exc:
            errors = {exc.field if exc.field in FIELDS else "features_from": exc.detail}
        else:
            return page.redirect(f"/classifiers/{made.id}")
    return _refits_page(page, project_id, status=400, errors=errors, values=values)


@router.get("/classifiers/{classifier_id}")
def refit(page: SignedIn, classifier_id: Id, set_id: SetChoice = None) -> Response:
    """A refit: where its fit is, then its cross-validated figures per taxon and, with
    ``?set=``, its scores against an evaluation set beside its features' model."""
    return _refit_page(page, classifier_id, set_id)


@router.post("/classifiers/{classifier_id}/promote")
def promote(page: SignedIn, classifier_id: Id, form: PostedForm) -> Response:
    """Promote a fitted refit (members): its job runs over the current boxes at once."""
    try:
        job = promotion.promote(page.db, page.me, classifier_id)
    except (InvalidInput, Conflict) as exc:
        return _refit_page(
            page, classifier_id, None, promote_error=exc.detail, status=exc.status_code
        )
    page.platform.starter.submit(job.id)
    return page.redirect(f"/jobs/{job.id}")


def _refit_page(
    page: Page,
    classifier_id: int,
    set_id: int | None,
    *,
    promote_error: str | None = None,
    status: int = 200,
) -> Response:
    found = classifiers.get_classifier(page.db, page.me, classifier_id)
    project, role = projects.get_project(page.db, page.me, found.project_id)
    fitted = found.status is FitStatus.FITTED
    sets = evaluation.list_sets(page.db, page.me, found.project_id) if fitted else []
    scored: RefitScoresOut | None = None
    errors: dict[str, str] = {"promote": promote_error} if promote_error else {}
    if fitted and set_id is not None:
        try:
            scored = RefitScoresOut.of(
                refit_scores.score_refit(
                    page.db,
                    page.me,
                    classifier_id,
                    set_id,
                    Photos(page.platform.store, page.platform.decode),
                )
            )
        except NotFound as exc:
            errors, status = {"set": f"{exc.detail}: choose one of the project's sets"}, 404
        except InvalidInput as exc:
            errors, status = {"set": exc.detail}, 400
    return page.render(
        "refit.html",
        status=status,
        project=project,
        role=role,
        refit=ClassifierOut.of(found),
        final=found.status.final,
        sets=sets,
        chosen=set_id,
        scored=scored,
        rows=side_by_side(scored) if scored is not None else [],
        errors=errors,
        promoted=promotion.promoted_as(page.db, page.me, classifier_id),
        can_promote=role.allows(Role.MEMBER),
    )


def side_by_side(scored: RefitScoresOut) -> list[dict[str, Any]]:
    """Per taxon of either side, in the refit's order (then the model's taxa it has not): its
    name, support, and the refit's and the model's figures (None: that side never named it)."""
    rows: dict[str, dict[str, Any]] = {}
    for side, taxa in (("refit", scored.taxa), ("model", scored.model.taxa)):
        for t in taxa:
            row = rows.setdefault(
                t.scientific_name,
                {"name": t.scientific_name, "support": t.support, "refit": None, "model": None},
            )
            row[side] = t
    return list(rows.values())


@router.get("/classifiers/{classifier_id}/progress")
def refit_progress(page: SignedIn, classifier_id: Id) -> Response:
    """The refit's status for the page's script, which asks once a second until it ends."""
    found = classifiers.get_classifier(page.db, page.me, classifier_id)
    done = 1.0 if found.status.final else found.progress or 0.0
    final = found.status.final
    response = JSONResponse(
        {"status": found.status.value, "final": final, "percent": round(done * 100)}
    )
    page.finish(response)
    return response
