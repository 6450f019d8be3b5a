"""Where blobs live: the keys of images, thumbnails and crops, and each project's prefixes."""

from __future__ import annotations

import secrets


def new_image_key(project_id: int, sha256: str, extension: str) -> str:
    """Where a new image's bytes go: per project, sharded by hash.

    The random part makes each stored copy its own blob, so deleting an image can never
    remove the bytes of a re-upload of the same file that raced with it.
    """
    tag = secrets.token_hex(4)
    return f"images/{project_id}/{sha256[:2]}/{sha256[2:4]}/{sha256}-{tag}.{extension}"


def thumbnail_key(storage_key: str, size: int) -> str:
    """Where the thumbnail of one size of the image stored at ``storage_key`` lives."""
    stem = storage_key.removeprefix("images/").rsplit(".", 1)[0]
    return f"thumbnails/{stem}-{size}.jpg"


def project_blob_prefixes(project_id: int) -> tuple[str, ...]:
    """The key prefixes under which all of a project's blobs live: images, thumbnails and
    export files and the artifacts of callback analyses."""
    return (
        f"images/{project_id}/",
        f"thumbnails/{project_id}/",
        f"exports/{project_id}/",
        f"artifacts/{project_id}/",
    )
