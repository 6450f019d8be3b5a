"""Imports: results computed elsewhere, as MegaDetector batch output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, Response, UploadFile

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.domain.taxa.taxa_rows import MAX_TAXA_BYTES
from trapline.http.filenames import clean_filename
from trapline.http.params import MAX_ID, Id
from trapline.schemas.exports import ImportOut
from trapline.schemas.taxa import TaxaImportOut
from trapline.services.exports import imports
from trapline.services.taxa import taxa

router = APIRouter(tags=["imports"])


@router.post("/projects/{project_id}/imports/megadetector")
def import_megadetector(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    file: Annotated[UploadFile, File(description="MegaDetector batch output (JSON)")],
    deployment_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    threshold: Annotated[
        float | None,
        Form(
            ge=0,
            le=1,
            allow_inf_nan=False,
            description="the score the imported model counts a box from (every box is stored); "
            "default: the file's typical_detection_threshold, else 0.2",
        ),
    ] = None,
) -> ImportOut:
    """Import MegaDetector results (members): one analysis per matched image; idempotent."""
    report = imports.import_megadetector(
        db, caller, project_id, file.file, deployment_id=deployment_id, threshold=threshold
    )
    return ImportOut.model_validate(asdict(report))


@router.post("/projects/{project_id}/taxa", tags=["taxa"], response_model=TaxaImportOut)
def import_taxa(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    file: Annotated[
        UploadFile,
        File(
            description="a taxa list: trapline CSV, a Darwin Core checklist (Taxon core) as "
            "text, or a Darwin Core Archive (zip)"
        ),
    ],
) -> Response:
    """Add or update the project's taxa list (managers). Every row is checked first: with any
    bad row nothing is imported, and the 400 lists the rows' outcomes (``rows``)."""
    data = file.file.read(MAX_TAXA_BYTES + 1)
    outcomes = taxa.import_taxa(db, caller, project_id, data, clean_filename(file.filename))
    del data
    return Response(TaxaImportOut.json_of(outcomes), media_type="application/json")
