"""A project's counts as a table of taxa by nights (viewers), linked from the species view and
a deployment's page, with its CSV: as shown (a column per night) or a row per taxon and night
(the API's ``counts?by=night&format=csv``). Filtered as the species view is: by deployment,
nights, rank and pipeline."""

from __future__ import annotations

from datetime import timedelta

from starlette.responses import Response

from trapline.domain.ecology.count_matrix import CountMatrix
from trapline.domain.ecology.listings import CountBy
from trapline.domain.taxa.taxa import ROLL_UP_RANKS
from trapline.errors import InvalidInput
from trapline.http.params import Id
from trapline.services.ecology import listings
from trapline.services.photos import projects
from trapline.web.counting_choice import pipeline_choice
from trapline.web.pages import Page, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.species import (
    FilterFields,
    FilterForm,
    Filters,
    deployment_choices,
    filter_error,
)

router = page_router()

#: Nights the page shows at once, the last of the filters' (a link shows the ones before).
NIGHTS_SHOWN = 31


@router.get("/projects/{project_id}/counts")
def counts_page(page: SignedIn, project_id: Id, form: FilterFields) -> Response:
    """The individuals of each taxon night by night, the last nights of the filters first."""
    project, role = projects.get_project(page.db, page.me, project_id)
    choice = pipeline_choice(page, project_id, form.pipeline)
    filters, errors = form.read(choice.pipeline)
    matrix: CountMatrix | None = None
    shown: CountMatrix | None = None
    if not errors:
        try:
            _, matrix = listings.night_matrix(
                page.db, page.me, filters.scope(project_id), filters.rank
            )
        except InvalidInput as exc:
            errors = filter_error(exc)
        else:
            shown = matrix.last(NIGHTS_SHOWN)
    query = filters.query()
    choices = deployment_choices(page, project_id)
    return page.render(
        "counts.html",
        status=400 if errors else 200,
        project=project,
        role=role,
        matrix=shown,
        nights_total=len(matrix.nights) if matrix else 0,
        earlier=_earlier(project_id, filters, matrix, shown),
        deployments=choices,
        deployment_name=dict(choices).get(filters.deployment) if filters.deployment else None,
        ranks=ROLL_UP_RANKS,
        values=form.values(choice.asked),
        errors=errors,
        choice=choice,
        query=query,
        taxon_query=filters.query(with_rank=False),
    )


def _earlier(
    project_id: int, filters: Filters, matrix: CountMatrix | None, shown: CountMatrix | None
) -> str | None:
    """The link to the nights before those shown, when there are some."""
    if matrix is None or shown is None or len(shown.nights) == len(matrix.nights):
        return None
    before = Filters(
        filters.deployment,
        filters.since,
        shown.nights[0] - timedelta(days=1),
        filters.rank,
        filters.pipeline,
    )
    return f"/projects/{project_id}/counts?{before.query()}"


@router.get("/projects/{project_id}/counts/taxa-by-night.csv")
def matrix_csv(page: SignedIn, project_id: Id, form: FilterFields) -> Response:
    """The table as the page shows it, every night of the filters: a row per taxon, a
    column per night."""
    filters = _filters(form)
    name, data = listings.night_matrix_csv(
        page.db, page.me, filters.scope(project_id), filters.rank
    )
    return _csv(page, name, data)


@router.get("/projects/{project_id}/counts/rows.csv")
def rows_csv(page: SignedIn, project_id: Id, form: FilterFields) -> Response:
    """The same counts as rows, a taxon and night a row: the API's count table by night."""
    filters = _filters(form)
    name, data = listings.count_table_csv(
        page.db, page.me, filters.scope(project_id), (CountBy.NIGHT,), filters.rank
    )
    return _csv(page, name, data)


def _filters(form: FilterForm) -> Filters:
    """The filters of a CSV link; InvalidInput naming the first wrong one (the page's own
    links are right: a hand-made address gets a 400 page)."""
    filters, errors = form.read(form.pipeline.strip() or None)
    if errors:
        field, detail = next(iter(errors.items()))
        raise InvalidInput(detail, field=field)
    return filters


def _csv(page: Page, name: str, data: bytes) -> Response:
    response = Response(
        data,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
    page.finish(response)
    return response
