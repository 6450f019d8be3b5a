"""Artifact uploads through the local store's signed upload links."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO, cast

from starlette.concurrency import run_in_threadpool

from trapline.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from trapline.storage.base import CHUNK_SIZE
from trapline.storage.local import LocalBlobStore


def media_type(header: str | None) -> str:
    """The media type of a Content-Type header, without parameters, in lower case."""
    return (header or "").split(";", 1)[0].strip().lower()


async def receive_upload(
    store: LocalBlobStore,
    key: str,
    body: AsyncIterator[bytes],
    *,
    signed_type: str,
    sent_type: str | None,
    max_bytes: int,
) -> int:
    """Store one upload under ``key``: the content type the link was signed for, at most
    ``max_bytes``, and only once (a link never overwrites what was uploaded)."""
    if media_type(sent_type) != media_type(signed_type):
        raise UnsupportedMediaType(
            f"this link takes Content-Type: {signed_type} (got {sent_type or 'none'})"
        )
    if await run_in_threadpool(store.exists, key):
        raise Conflict("this artifact was already uploaded; ask for a new link to upload another")
    with tempfile.SpooledTemporaryFile(max_size=CHUNK_SIZE) as spool:
        size = 0
        async for chunk in body:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"an artifact may be at most {max_bytes} bytes")
            spool.write(chunk)
        spool.seek(0)
        stream = cast(BinaryIO, spool)
        return await run_in_threadpool(store.put, key, stream, content_type=signed_type)
