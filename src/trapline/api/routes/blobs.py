"""Signed blob URLs of the local store, served by trapline itself."""

from __future__ import annotations

import mimetypes
import tempfile
from typing import Annotated, BinaryIO, cast

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import FileResponse
from starlette.concurrency import run_in_threadpool

from trapline.api.deps import StoreDep
from trapline.api.pagination import BlobKey
from trapline.errors import NotFound
from trapline.storage.local import LocalBlobStore

router = APIRouter(tags=["blobs"])

Signature = Annotated[str | None, Query(max_length=128)]


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
    local.verify(key, "GET", expires, sig)
    path = local.path_for(key)
    if not path.is_file():
        raise NotFound("file not found")
    media_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    return FileResponse(
        path, media_type=media_type, headers={"Cache-Control": "private, max-age=3600"}
    )


@router.put("/blobs/{key:path}", status_code=201)
async def put_blob(
    key: BlobKey,
    request: Request,
    store: StoreDep,
    expires: Signature = None,
    sig: Signature = None,
) -> Response:
    """Upload a file through a signed, expiring link (no token needed)."""
    local = _local(store)
    local.verify(key, "PUT", expires, sig)
    with tempfile.SpooledTemporaryFile(max_size=1024 * 1024) as spool:
        async for chunk in request.stream():
            await run_in_threadpool(spool.write, chunk)
        spool.seek(0)
        await run_in_threadpool(
            local.put, key, cast(BinaryIO, spool), content_type=request.headers.get("content-type")
        )
    return Response(status_code=201)
