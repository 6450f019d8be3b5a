"""Taxa: a project's taxa list (its import, ``POST /projects/{id}/taxa``, is in
``imports.py``), the mapping of labels onto
it, people's identifications, and the species view."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.rejections import Rejection
from trapline.domain.taxa.taxa import ROLL_UP_RANKS, Rank
from trapline.http.pagination import offset_page
from trapline.http.params import DEFAULT_LIMIT, Id, Limit, Offset, QueryDate, QueryId, QueryPipeline
from trapline.protocol.base import ONE_LINE
from trapline.schemas.common import ErrorOut
from trapline.schemas.occurrences import OccurrenceOut
from trapline.schemas.taxa import (
    BulkIdentificationIn,
    BulkIdentificationOut,
    DetectionIdentificationIn,
    IdentificationIn,
    IdentificationOut,
    LabelMappingIn,
    LabelMappingOut,
    ShareIn,
    SpeciesOut,
    TaxaListOut,
    TaxonOut,
    TaxonProfileOut,
)
from trapline.services.ecology import counting, species
from trapline.services.review import identifications
from trapline.services.taxa import taxa

router = APIRouter(tags=["taxa"])

#: A type-ahead's text.
SearchText = Annotated[
    str, Query(min_length=1, max_length=255, pattern=ONE_LINE, description="a name's start")
]
#: How many suggestions a type-ahead answers.
Suggestions = Annotated[int, Query(ge=1, le=taxa.MAX_SUGGESTIONS)]
#: The rank the species view rolls its counts up to.
RollUp = Annotated[
    Rank | None,
    Query(description="roll counts up to this rank: " + ", ".join(r.value for r in ROLL_UP_RANKS)),
]
#: A night, named by its evening's date.
Night = QueryDate


@router.get("/projects/{project_id}/taxa-list")
def get_taxa_list(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> TaxaListOut | None:
    """The taxa list the project counts under; null until one is imported or shared."""
    found = taxa.project_list(db, caller, project_id)
    return TaxaListOut.of(found) if found else None


@router.put("/projects/{project_id}/taxa-list")
def share_taxa_list(
    project_id: Id, body: ShareIn, caller: CurrentUser, db: DatabaseDep
) -> TaxaListOut:
    """Count under another project's list (managers of this project who can see that one)."""
    return TaxaListOut.of(taxa.share_list(db, caller, project_id, body.taxa_list_id))


@router.get("/projects/{project_id}/taxa")
def list_taxa(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The project's taxa by name."""
    total, found = taxa.page(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [TaxonOut.of(t) for t in found], limit, offset)


@router.get("/projects/{project_id}/taxa/search")
def search_taxa(
    project_id: Id, q: SearchText, caller: CurrentUser, db: DatabaseDep, limit: Suggestions = 20
) -> list[TaxonOut]:
    """Type-ahead: taxa whose scientific or vernacular name starts with ``q`` (any case)."""
    return [TaxonOut.of(t) for t in taxa.search(db, caller, project_id, q, limit=limit)]


@router.get(
    "/projects/{project_id}/taxa/export",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the taxa list as CSV"}},
)
def export_taxa(project_id: Id, caller: CurrentUser, db: DatabaseDep) -> Response:
    """The project's taxa list as CSV, in the form the import reads."""
    name, text = taxa.export_taxa(db, caller, project_id)
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/projects/{project_id}/taxa/{taxon_id}")
def get_taxon(
    project_id: Id,
    taxon_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment_id: QueryId = None,
    since: Night = None,
    until: Night = None,
    pipeline: QueryPipeline = None,
) -> TaxonProfileOut:
    """A taxon with everything under it: counts, occurrences per night, per hour of the
    night and per deployment, and its latest occurrences."""
    scope = Scope(project_id, deployment_id, since, until, pipeline=pipeline)
    profile, recent = species.taxon_profile(db, caller, scope, taxon_id)
    return TaxonProfileOut.of_profile(profile, [o.id for o in recent])


@router.get("/projects/{project_id}/labels")
def list_labels(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The labels of the project's occurrences, most used first, each with what it stands
    for (``kind`` null: unmapped) and how many occurrences carry it."""
    total, found = counting.label_mappings(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [LabelMappingOut.of(m) for m in found], limit, offset)


@router.post("/projects/{project_id}/labels")
def map_label(
    project_id: Id, body: LabelMappingIn, caller: CurrentUser, db: DatabaseDep
) -> LabelMappingOut:
    """Say what a label stands for (members); its occurrences are counted under it at once."""
    mapping = taxa.map_label(
        db, caller, project_id, body.label, taxon_id=body.taxon_id, non_object=body.non_object
    )
    return LabelMappingOut.of(mapping)


@router.get("/projects/{project_id}/species")
def list_species(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    deployment_id: QueryId = None,
    since: Night = None,
    until: Night = None,
    rank: RollUp = None,
    pipeline: QueryPipeline = None,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """The taxa of the project's occurrences with their counts, deployments, first and last
    night and best crop, most occurrences first; those that name no taxon last, as one row."""
    scope = Scope(project_id, deployment_id, since, until, pipeline=pipeline)
    total, rows = species.species(db, caller, scope, rank=rank, limit=limit, offset=offset)
    return offset_page(request, total, [SpeciesOut.of(c) for c in rows], limit, offset)


@router.get("/projects/{project_id}/identification-queue")
def identification_queue(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """Occurrences that need a person's look, most needed first: people disagreeing, then no
    species-level taxon, then the least sure."""
    total, found = identifications.queue(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [OccurrenceOut.of(o) for o in found], limit, offset)


@router.get("/projects/{project_id}/identifications/unplaced")
def unplaced_identifications(
    request: Request,
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    limit: Limit = DEFAULT_LIMIT,
    offset: Offset = 0,
) -> dict[str, Any]:
    """People's identifications no occurrence holds now: new results (a re-run, a new
    version) had no detection where theirs was. Kept; identify the occurrence again."""
    total, found = identifications.unplaced(db, caller, project_id, limit=limit, offset=offset)
    return offset_page(request, total, [IdentificationOut.of(i) for i in found], limit, offset)


@router.get("/occurrences/{occurrence_id}/identifications")
def list_identifications(
    occurrence_id: Id, caller: CurrentUser, db: DatabaseDep
) -> list[IdentificationOut]:
    """An occurrence's identifications, oldest first, withdrawn ones too."""
    return [IdentificationOut.of(i) for i in identifications.history(db, caller, occurrence_id)]


@router.post("/occurrences/{occurrence_id}/identifications", status_code=201)
def identify_occurrence(
    occurrence_id: Id, body: IdentificationIn, caller: CurrentUser, db: DatabaseDep
) -> IdentificationOut:
    """Identify an occurrence (members): name a taxon, agree, or reject it."""
    made, _ = identifications.identify_occurrence(
        db, caller, occurrence_id, taxon_id=body.taxon_id, agree_with=body.agree_with,
        rejected=Rejection(body.rejected) if body.rejected else None, comment=body.comment,
    )  # fmt: skip
    return IdentificationOut.of(made)


@router.post(
    "/projects/{project_id}/identifications",
    status_code=201,
    responses={
        400: {
            "model": ErrorOut,
            "description": "Not 1 to 500 occurrences each named once, neither or both of "
            "`taxon_id` and `agree_with`, a taxon not of the project's list, or (agreeing with "
            "the model) occurrences whose model label names no taxon: the detail names them.",
        },
        404: {
            "model": ErrorOut,
            "description": "No such project you may see, or occurrences that are not the "
            "project's (missing, or another project's): the detail names them; nothing is "
            "identified.",
        },
    },
)
def identify_occurrences(
    project_id: Id, body: BulkIdentificationIn, caller: CurrentUser, db: DatabaseDep
) -> BulkIdentificationOut:
    """Identify or reject many occurrences of the project at once (members), all or none."""
    made = identifications.identify_occurrences(
        db, caller, project_id, body.occurrence_ids, taxon_id=body.taxon_id,
        agree_with=body.agree_with, comment=body.comment,
        rejected=Rejection(body.rejected) if body.rejected else None,
    )  # fmt: skip
    return BulkIdentificationOut(
        count=len(made),
        identifications=[IdentificationOut.of(i) for i, _ in made],
        occurrences=[OccurrenceOut.of(o) for _, o in made],
    )


@router.post("/annotations/{annotation_id}/identifications", status_code=201)
def identify_detection(
    annotation_id: Id, body: DetectionIdentificationIn, caller: CurrentUser, db: DatabaseDep
) -> IdentificationOut:
    """Identify a single detection (members); its occurrence is determined again."""
    made, _ = identifications.identify_detection(
        db, caller, annotation_id, taxon_id=body.taxon_id, comment=body.comment
    )
    return IdentificationOut.of(made)


@router.post("/identifications/{identification_id}/withdraw")
def withdraw_identification(
    identification_id: Id, caller: CurrentUser, db: DatabaseDep
) -> OccurrenceOut | None:
    """Withdraw an identification (its author or a manager); the occurrence as determined now."""
    found = identifications.withdraw(db, caller, identification_id)
    return OccurrenceOut.of(found) if found else None
