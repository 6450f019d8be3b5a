"""The species view of a project, and a taxon's page (its lineage, counts, phenology,
activity by hour, deployments and latest crops), both filtered by deployment and by nights
and counted by the project's counting pipeline or another it has; the species view also
rolls its counts up to a rank."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Query
from starlette.responses import Response

from trapline.domain.ecology.occurrences import Occurrence
from trapline.domain.ecology.species import Scope, SpeciesCount, TaxonProfile
from trapline.domain.taxa.taxa import ROLL_UP_RANKS, Rank
from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID, Id
from trapline.protocol.base import ONE_LINE
from trapline.services.ecology import species
from trapline.services.photos import deployments, projects
from trapline.services.taxa import taxa
from trapline.web.counting_choice import PipelineText, pipeline_choice
from trapline.web.pages import Offset, Page, SignedIn
from trapline.web.routes import page_router
from trapline.web.routes.taxa import taxon_names, vernacular_line
from trapline.web.species_charts import hours_chart, nights_chart
from trapline.web.timeline import local_time

router = page_router()

#: A filter as its field sends it (read and checked here, so a mistake is shown by the field).
FilterText = Annotated[str, Query(max_length=40, pattern=ONE_LINE)]
#: Deployments the filter offers.
DEPLOYMENT_CHOICES = 500
#: Taxa the species view shows a page.
PER_PAGE = 100
_FIELDS = ("deployment", "since", "until", "rank", "pipeline")


@dataclass(frozen=True)
class Filters:
    """Which occurrences the pages count."""

    deployment: int | None = None
    since: date | None = None
    until: date | None = None
    rank: Rank | None = None
    #: The pipeline asked for (None: the project's counting pipeline).
    pipeline: str | None = None

    def scope(self, project_id: int) -> Scope:
        return Scope(project_id, self.deployment, self.since, self.until, pipeline=self.pipeline)

    def query(self, *, with_rank: bool = True) -> str:
        """The filters given, as a query string for links that keep them."""
        given = {
            "deployment": self.deployment,
            "since": self.since,
            "until": self.until,
            "rank": self.rank.value if self.rank and with_rank else None,
            "pipeline": self.pipeline,
        }
        return urlencode({k: v for k, v in given.items() if v is not None})


def read_filters(
    deployment: str, since: str, until: str, rank: str, pipeline: str | None = None
) -> tuple[Filters, dict[str, str]]:
    """The filters the form sent, and a message for each field that is wrong."""
    errors: dict[str, str] = {}
    deployment_id = None
    if deployment.strip():
        text = deployment.strip()
        if text.isascii() and text.isdigit() and 1 <= int(text) <= MAX_ID:
            deployment_id = int(text)
        else:
            errors["deployment"] = f"deployment: pick one of the list (got {text[:20]!r})"
    nights = {}
    for field, value in (("since", since), ("until", until)):
        try:
            nights[field] = date.fromisoformat(value.strip()) if value.strip() else None
        except ValueError:
            errors[field] = f"{field}: a date like 2024-06-21 (got {value.strip()[:20]!r})"
            nights[field] = None
    rolled = None
    if rank.strip():
        rolled = next((r for r in ROLL_UP_RANKS if r.value == rank.strip().lower()), None)
        if rolled is None:
            names = ", ".join(r.value for r in ROLL_UP_RANKS)
            errors["rank"] = f"rank: one of {names} (got {rank.strip()[:20]!r})"
    return Filters(deployment_id, nights["since"], nights["until"], rolled, pipeline), errors


@dataclass(frozen=True)
class FilterForm:
    """The filters as their fields sent them: the species view's, and the counts pages'."""

    deployment: FilterText = ""
    since: FilterText = ""
    until: FilterText = ""
    rank: FilterText = ""
    pipeline: PipelineText = ""

    def read(self, pipeline: str | None) -> tuple[Filters, dict[str, str]]:
        """The filters (``pipeline``: the one chosen), and a message for each wrong field."""
        return read_filters(self.deployment, self.since, self.until, self.rank, pipeline)

    def values(self, asked: str) -> dict[str, str]:
        """What the fields show again (``asked``: the pipeline field's own text)."""
        shown = {"deployment": self.deployment, "since": self.since, "until": self.until}
        return {**shown, "rank": self.rank, "pipeline": asked}


#: The filter fields of a page's address.
FilterFields = Annotated[FilterForm, Depends()]


def filter_error(exc: InvalidInput) -> dict[str, str]:
    """A service's refusal of the filters, shown by the field it names."""
    return {exc.field if exc.field in _FIELDS else "form": exc.detail}


def deployment_choices(page: Page, project_id: int) -> list[tuple[int, str]]:
    return deployments.deployment_names(page.db, page.me, project_id, limit=DEPLOYMENT_CHOICES)


@router.get("/projects/{project_id}/species")
def species_page(
    page: SignedIn, project_id: Id, form: FilterFields, offset: Offset = 0
) -> Response:
    """The taxa of the project's occurrences with their counts and best crops, a page at a
    time."""
    project, role = projects.get_project(page.db, page.me, project_id)
    choice = pipeline_choice(page, project_id, form.pipeline)
    filters, errors = form.read(choice.pipeline)
    total = 0
    rows: list[SpeciesCount] = []
    if not errors:
        try:
            total, rows = species.species(
                page.db,
                page.me,
                filters.scope(project_id),
                rank=filters.rank,
                limit=PER_PAGE,
                offset=offset,
            )
        except InvalidInput as exc:
            errors = filter_error(exc)
    query = filters.query()
    return page.render(
        "species.html",
        status=400 if errors else 200,
        project=project,
        role=role,
        rows=rows,
        deployments=deployment_choices(page, project_id),
        ranks=ROLL_UP_RANKS,
        values=form.values(choice.asked),
        errors=errors,
        taxon_query=filters.query(with_rank=False),
        count_query=query,
        choice=choice,
        total=total,
        offset=offset,
        per_page=PER_PAGE,
        base=f"/projects/{project_id}/species" + (f"?{query}" if query else ""),
    )


@router.get("/projects/{project_id}/taxa/{taxon_id:int}")
def taxon_page(
    page: SignedIn,
    project_id: Id,
    taxon_id: Id,
    deployment: FilterText = "",
    since: FilterText = "",
    until: FilterText = "",
    pipeline: PipelineText = "",
) -> Response:
    """A taxon with everything under it: counts, phenology, activity, deployments, crops."""
    project, role = projects.get_project(page.db, page.me, project_id)
    taxon = taxa.get_taxon(page.db, page.me, project_id, taxon_id)
    choice = pipeline_choice(page, project_id, pipeline)
    filters, errors = read_filters(deployment, since, until, "", choice.pipeline)
    profile: TaxonProfile | None = None
    recent: list[Occurrence] = []
    if not errors:
        try:
            profile, recent = species.taxon_profile(
                page.db, page.me, filters.scope(project_id), taxon_id
            )
        except InvalidInput as exc:
            errors = filter_error(exc)
    ancestors = taxon_names(page, project_id, taxon.lineage)
    found = deployment_choices(page, project_id)
    names = dict(found)
    return page.render(
        "taxon.html",
        status=400 if errors else 200,
        project=project,
        role=role,
        taxon=taxon,
        lineage=[ancestors[i] for i in taxon.lineage],
        profile=profile,
        nights=nights_chart(profile.per_night) if profile else None,
        hours=hours_chart(profile.per_hour) if profile else None,
        per_deployment=[(d, names.get(d, f"deployment {d}"), n) for d, n in profile.per_deployment]
        if profile
        else [],
        recent=recent,
        local_time=local_time,
        deployments=found,
        values={"deployment": deployment, "since": since, "until": until, "pipeline": choice.asked},
        errors=errors,
        vernacular=vernacular_line(taxon),
        choice=choice,
    )
