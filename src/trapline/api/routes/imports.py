"""Imports: results computed elsewhere, as MegaDetector batch output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.http.params import MAX_ID, Id
from trapline.schemas.exports import ImportOut
from trapline.services import imports

router = APIRouter(tags=["imports"])


@router.post("/projects/{project_id}/imports/megadetector")
def import_megadetector(
    project_id: Id,
    caller: CurrentUser,
    db: DatabaseDep,
    file: Annotated[UploadFile, File(description="MegaDetector batch output (JSON)")],
    deployment_id: Annotated[int | None, Form(ge=1, le=MAX_ID)] = None,
    threshold: Annotated[float, Form(ge=0, le=1, allow_inf_nan=False)] = 0.0,
) -> ImportOut:
    """Import MegaDetector results (members): one analysis per matched image; idempotent."""
    report = imports.import_megadetector(
        db, caller, project_id, file.file, deployment_id=deployment_id, threshold=threshold
    )
    return ImportOut.model_validate(asdict(report))
