"""Signed blob URLs of the local store, served by trapline itself: downloads, and the
one-time artifact uploads of the callback API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse

from trapline.api.deps import SettingsDep, StoreDep
from trapline.errors import NotFound
from trapline.http.params import BlobKey
from trapline.imaging.probe import ACCEPTED_FORMATS
from trapline.schemas.common import ErrorOut
from trapline.services.callbacks.artifacts import receive_upload
from trapline.storage.local import LocalBlobStore

router = APIRouter(tags=["blobs"])

Signature = Annotated[str | None, Query(max_length=128)]

#: Content types served for the extensions of image blobs: the formats uploads are checked
#: to be (and thumbnails, which are JPEG). Anything else is downloaded as an attachment.
IMAGE_TYPES = {f".{f.extension}": f.content_type for f in ACCEPTED_FORMATS.values()}


def _local(store: object) -> LocalBlobStore:
    if not isinstance(store, LocalBlobStore):
        raise NotFound("this server keeps files in object storage; use the presigned URL")
    return store


@router.get("/blobs/{key:path}")
def get_blob(
    key: BlobKey, store: StoreDep, expires: Signature = None, sig: Signature = None
) -> FileResponse:
    """Download a file through a signed, expiring link (no token needed)."""
    local = _local(store)
    local.verify(key, expires, sig)
    path = local.path_for(key)
    if not path.is_file():
        raise NotFound("file not found")
    # nosniff: a browser shows the bytes only as the type said (an image), never as a page
    # it guessed from them; what is not a checked image is only ever saved, never shown.
    headers = {"Cache-Control": "private, max-age=3600", "X-Content-Type-Options": "nosniff"}
    media_type = IMAGE_TYPES.get(path.suffix.lower())
    if media_type is None:
        return FileResponse(
            path,
            media_type="application/octet-stream",
            headers=headers,
            filename=path.name,
            content_disposition_type="attachment",
        )
    return FileResponse(path, media_type=media_type, headers=headers)


@router.put(
    "/blobs/{key:path}",
    status_code=201,
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        }
    },
    responses={
        409: {"model": ErrorOut, "description": "Something was already uploaded there."},
        415: {"model": ErrorOut, "description": "Not the content type the link was made for."},
    },
)
async def put_blob(
    request: Request,
    key: BlobKey,
    store: StoreDep,
    settings: SettingsDep,
    expires: Signature = None,
    type: Signature = None,
    sig: Signature = None,
) -> Response:
    """Upload an artifact through a signed, expiring upload link (no token needed)."""
    local = _local(store)
    local.verify_upload(key, expires, type, sig)
    await receive_upload(
        local,
        key,
        request.stream(),
        signed_type=type or "",
        sent_type=request.headers.get("content-type"),
        max_bytes=settings.http.max_upload_bytes,
    )
    return Response(status_code=201)
