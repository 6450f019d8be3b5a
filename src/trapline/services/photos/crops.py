"""Crops of detections: the part of the photo inside a box, made once and kept like a thumbnail."""

from __future__ import annotations

from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.errors import InvalidInput, NotFound
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS, make_crop
from trapline.services.core.access import project_for, require
from trapline.services.photos.blob_keys import thumbnail_key
from trapline.storage.base import BlobStore

#: Long side, in pixels, of a detection's crop; a smaller box keeps its own size.
CROP_SIZE = 256


def crop_key(storage_key: str, annotation_id: int, size: int = CROP_SIZE) -> str:
    """Where the crop of one box of the image stored at ``storage_key`` lives.

    It starts with the stem of the image's thumbnails, so the blob clean-up keeps it while the
    image lives and removes it with the image's other blobs once the image is gone.
    """
    stem = thumbnail_key(storage_key, size).removesuffix(f"-{size}.jpg")
    return f"{stem}-a{annotation_id}x{size}.jpg"


def crop_url(
    db: Database,
    store: BlobStore,
    caller: User,
    annotation_id: int,
    *,
    expires_in: int,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> str:
    """A signed URL of a detection's crop (viewers of its project), made (once) when missing."""
    with db.read() as repos:
        found = repos.processing.analyses.annotations_by_id([annotation_id])
        annotation = require(found[0] if found else None, "annotation", annotation_id)
        image = require(repos.core.images.get(annotation.image_id), "annotation", annotation_id)
        asked = ("annotation", annotation_id)
        project_for(repos, caller, image.project_id, Role.VIEWER, asked=asked)
    if annotation.box is None:
        raise InvalidInput(
            f"annotation {annotation_id} is a {annotation.type.value} with no box; "
            "only a detection (a box) has a crop"
        )
    key = crop_key(image.storage_key, annotation_id)
    if not store.exists(key):
        with store.opened(image.storage_key) as original:
            crop = make_crop(original, annotation.box, CROP_SIZE, limits=limits)
        store.put_bytes(key, crop, content_type="image/jpeg", durable=False)
        with db.read() as repos:
            gone = repos.core.images.get(image.id) is None
        if gone:
            # Deleted while the crop was made: its deletion may have missed this file.
            store.delete(key)
            raise NotFound(f"annotation {annotation_id} not found")
    return store.signed_url(key, expires_in=expires_in)
