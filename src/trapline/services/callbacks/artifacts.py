"""Artifact uploads: the local store's signed upload links, and the check of what arrived
through any store's link (an S3 presigned PUT cannot cap the size it takes)."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from typing import BinaryIO, cast

from starlette.concurrency import run_in_threadpool

from trapline.domain.callbacks.callbacks import Artifact
from trapline.errors import Conflict, PayloadTooLarge, UnsupportedMediaType
from trapline.storage.base import CHUNK_SIZE, BlobInfo, BlobStore
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


def upload_problem(artifact: Artifact, found: BlobInfo | None, max_bytes: int) -> str | None:
    """What is wrong with the file uploaded for ``artifact`` (as ``stat`` found it), or None
    when it is there, at most ``max_bytes`` and of the content type its link was signed for.

    Local uploads were checked as they arrived; an S3 presigned PUT takes any size (and, on
    S3-compatible services that do not check it, any content type), so this is where those
    are caught.
    """
    if found is None:
        return "nothing was uploaded there yet; PUT the file to the upload_url first"
    if found.size > max_bytes:
        return (
            f"the uploaded file is {found.size} bytes, over the {max_bytes} byte limit of an"
            " artifact (TRAPLINE_MAX_UPLOAD_BYTES)"
        )
    if found.content_type is not None and media_type(found.content_type) != media_type(
        artifact.content_type
    ):
        return (
            f"the file was uploaded as {found.content_type}, not as {artifact.content_type}"
            " that its upload link was made for"
        )
    return None


def check_upload(store: BlobStore, artifact: Artifact, max_bytes: int) -> str | None:
    """``upload_problem`` of the artifact's file; a file that is there but refused (too
    large, or of another content type) is deleted, so no refused bytes stay stored."""
    found = store.stat(artifact.storage_key)
    problem = upload_problem(artifact, found, max_bytes)
    if problem is None or found is None:
        return problem
    store.delete(artifact.storage_key)
    return (
        f"{problem}; it was deleted: PUT a file within the limits, with Content-Type:"
        f" {artifact.content_type}, to the upload_url (or a new one) and post again"
    )
