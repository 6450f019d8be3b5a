"""The callback API for external pipelines (docs/callback-api.md).

Served under ``/api/v2`` and, as the integration guide prints them, under ``/api``. Signed
calls read the raw body first: the signature covers its exact bytes, and a body is parsed
only once its signature checks out (``api/signed_calls.py``, which also gives an identical
repeat the first answer).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic_core import to_json
from starlette.concurrency import run_in_threadpool

from trapline.api.bodies import json_body
from trapline.api.deps import AccessDep, CurrentUser
from trapline.api.signed_calls import SignedCallRoute, signed
from trapline.errors import PermissionDenied
from trapline.http.limits import BULK_BODY_BYTES
from trapline.http.params import Id
from trapline.http.state import platform_of
from trapline.http.urls import with_base
from trapline.protocol.callbacks import (
    AnalysisIn,
    BulkIn,
    FinalizeIn,
    PresignIn,
    SecretIn,
    StatusIn,
)
from trapline.schemas.callbacks import (
    AnalysisDetailOut,
    ArtifactOut,
    BulkOut,
    CallbackAnalysisOut,
    CallbackSecretCreatedOut,
    CallbackSecretOut,
    PresignOut,
    SignatureStatsOut,
    annotation_dict,
)
from trapline.schemas.common import ErrorOut
from trapline.services.callbacks import callback_secrets
from trapline.services.callbacks.callbacks import Callbacks, check_enabled

#: Every callback route is a ``SignedCallRoute``: a signed call's answer is kept for repeats.
router = APIRouter(tags=["callbacks"], route_class=SignedCallRoute)

#: What the signed calls answer besides the rules of ``api/openapi.py``.
_SIGNED_ANSWERS: dict[int | str, dict[str, Any]] = {
    401: {
        "model": ErrorOut,
        "description": "The signature is missing or fails a check (the detail says which).",
    },
    409: {
        "model": ErrorOut,
        "description": "An illegal status change, a finished analysis, or a signature used "
        "before for another call or analysis (sign that request afresh).",
    },
    503: {
        "model": ErrorOut,
        "description": "A repeat that came while the first request with its signature is "
        "still being answered: repeat it after Retry-After seconds.",
    },
}


async def _callbacks(request: Request) -> Callbacks:
    return platform_of(request).callbacks


CallbacksDep = Annotated[Callbacks, Depends(_callbacks)]


@router.post(
    "/images/{image_id}/analyses",
    status_code=201,
    responses={429: {"model": ErrorOut, "description": "The image has the most analyses allowed."}},
)
def create_analysis(
    image_id: Id, body: AnalysisIn, caller: CurrentUser, callbacks: CallbacksDep
) -> CallbackAnalysisOut:
    """Create a queued analysis of an image for an external pipeline (members)."""
    return CallbackAnalysisOut.of(callbacks.create(caller, image_id, body))


@router.get("/images/{image_id}/analyses")
def list_analyses(
    image_id: Id, caller: CurrentUser, callbacks: CallbacksDep
) -> list[CallbackAnalysisOut]:
    """An image's analyses (of workers and external pipelines), without annotations."""
    return [CallbackAnalysisOut.of(a) for a in callbacks.of_image(caller, image_id)]


@router.get("/analyses/{analysis_id}")
def get_analysis(
    request: Request, analysis_id: Id, caller: CurrentUser, callbacks: CallbacksDep
) -> AnalysisDetailOut:
    """An analysis with its annotations and artifacts (download links)."""
    analysis, artifacts = callbacks.read(caller, analysis_id)
    out = CallbackAnalysisOut.of(analysis)
    base = platform_of(request).settings.http.public_base_url
    links = [ArtifactOut.of(a, with_base(base, url)) for a, url in artifacts]
    return AnalysisDetailOut(**out.model_dump(), artifacts=links)


@router.patch(
    "/analyses/{analysis_id}/status", openapi_extra=json_body(StatusIn), responses=_SIGNED_ANSWERS
)
async def set_status(
    request: Request, analysis_id: Id, callbacks: CallbacksDep, access: AccessDep
) -> CallbackAnalysisOut:
    """Set an analysis's status (signed); a no-op when it is there already."""
    analysis, raw = await signed(request, analysis_id, callbacks, access)
    body = StatusIn.model_validate_json(raw)
    return CallbackAnalysisOut.of(await run_in_threadpool(callbacks.set_status, analysis, body))


@router.post(
    "/analyses/{analysis_id}/artifacts/presign",
    openapi_extra=json_body(PresignIn),
    responses=_SIGNED_ANSWERS,
)
async def presign_artifact(
    request: Request, analysis_id: Id, callbacks: CallbacksDep, access: AccessDep
) -> PresignOut:
    """An upload link for one artifact of the analysis (signed)."""
    analysis, raw = await signed(request, analysis_id, callbacks, access)
    body = PresignIn.model_validate_json(raw)
    url, path = await run_in_threadpool(callbacks.presign, analysis, body)
    settings = platform_of(request).settings
    return PresignOut(upload_url=with_base(settings.http.public_base_url, url), storage_path=path)


@router.post(
    "/analyses/{analysis_id}/annotations:bulk",
    openapi_extra=json_body(BulkIn),
    max_body_size=BULK_BODY_BYTES,
    response_model=BulkOut,
    responses=_SIGNED_ANSWERS,
)
async def bulk_annotations(
    request: Request, analysis_id: Id, callbacks: CallbacksDep, access: AccessDep
) -> Response:
    """Add (or replace) annotations of the analysis in bulk (signed); repeats stored once."""
    analysis, raw = await signed(request, analysis_id, callbacks, access)

    def store() -> bytes:
        body = BulkIn.model_validate_json(raw)
        stored, total = callbacks.bulk(analysis, body)
        # Thousands of annotations: written straight from dicts (the shape of BulkOut).
        answer = {"annotations": [annotation_dict(a) for a in stored], "total": total}
        return to_json(answer, inf_nan_mode="null")

    return Response(await run_in_threadpool(store), media_type="application/json")


@router.post(
    "/analyses/{analysis_id}/finalize",
    openapi_extra=json_body(FinalizeIn),
    responses=_SIGNED_ANSWERS,
)
async def finalize(
    request: Request, analysis_id: Id, callbacks: CallbacksDep, access: AccessDep
) -> CallbackAnalysisOut:
    """Complete or fail the analysis (signed); answers the whole analysis."""
    analysis, raw = await signed(request, analysis_id, callbacks, access)
    body = FinalizeIn.model_validate_json(raw)
    return CallbackAnalysisOut.of(await run_in_threadpool(callbacks.finalize, analysis, body))


@router.post("/projects/{project_id}/callback-secrets", status_code=201)
def create_secret(
    project_id: Id, body: SecretIn, caller: CurrentUser, callbacks: CallbacksDep
) -> CallbackSecretCreatedOut:
    """Make a callback secret for the project's pipelines (managers); shown only now."""
    check_enabled(callbacks.settings)
    made, value = callback_secrets.create_secret(
        callbacks.db, callbacks.box, caller, project_id, body.name
    )
    return CallbackSecretCreatedOut(**CallbackSecretOut.of(made).model_dump(), secret=value)


@router.get("/projects/{project_id}/callback-secrets")
def list_secrets(
    project_id: Id, caller: CurrentUser, callbacks: CallbacksDep
) -> list[CallbackSecretOut]:
    """The project's callback secrets, without their values (managers)."""
    check_enabled(callbacks.settings)
    found = callback_secrets.list_secrets(callbacks.db, caller, project_id)
    return [CallbackSecretOut.of(s) for s in found]


@router.delete("/projects/{project_id}/callback-secrets/{secret_id}", status_code=204)
def revoke_secret(
    project_id: Id, secret_id: Id, caller: CurrentUser, callbacks: CallbacksDep
) -> None:
    """Revoke a callback secret (managers); its signatures stop being accepted at once."""
    check_enabled(callbacks.settings)
    callback_secrets.revoke_secret(callbacks.db, caller, project_id, secret_id)


@router.get("/callbacks/stats")
def signature_stats(caller: CurrentUser, callbacks: CallbacksDep) -> SignatureStatsOut:
    """Refused callback signatures since this server process started, by reason (admins)."""
    check_enabled(callbacks.settings)
    if not caller.is_admin:
        raise PermissionDenied("only admins see the callback signature statistics")
    counts = callbacks.monitor.counts()
    return SignatureStatsOut(signature_failures=counts, total=sum(counts.values()))
