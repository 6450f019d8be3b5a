"""Imports: results computed elsewhere, as MegaDetector batch output."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, File, Form, UploadFile

from trapline.api.deps import CurrentUser, DatabaseDep
from trapline.api.pagination import MAX_ID, Id
from trapline.api.schemas_exports import ImportOut
from trapline.errors import PayloadTooLarge
from trapline.exports.megadetector_import import MAX_IMPORT_BYTES
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
    data = file.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        raise PayloadTooLarge(
            f"a MegaDetector file may be at most {MAX_IMPORT_BYTES // (1024 * 1024)} MiB; "
            "split it by folder and import the parts"
        )
    report = imports.import_megadetector(
        db, caller, project_id, data, deployment_id=deployment_id, threshold=threshold
    )
    return ImportOut.model_validate(asdict(report))
