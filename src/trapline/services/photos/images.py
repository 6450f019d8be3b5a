"""Images: upload with dedup and timestamps, listing, thumbnails, downloads, deletion."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from typing import BinaryIO, TypeVar

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.paging import Cursor, ImageOrder
from trapline.domain.core.records import Image, ImageFilter, User
from trapline.domain.core.roles import Role
from trapline.domain.photos.local_times import DEFAULT_ZONE, capture_offset
from trapline.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PayloadTooLarge,
    StorageError,
    TraplineError,
    UnsupportedMediaType,
)
from trapline.imaging.exif import HEAD_BYTES, exif_tags
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import (
    DEFAULT_LIMITS,
    THUMBNAIL_SIZES,
    ImageFacts,
    inspect_image,
    make_thumbnail,
)
from trapline.services.core.access import project_for, require
from trapline.services.ecology import events
from trapline.services.photos.blob_keys import new_image_key, thumbnail_key
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_CHUNK = 1024 * 1024
#: Thumbnails made while uploading; the larger sizes are made the first time they are asked for.
UPLOAD_THUMBNAILS = (256,)
#: Files of one upload request checked at the same time.
UPLOAD_THREADS = 4


@dataclass(frozen=True)
class IncomingFile:
    """One file of an upload, already on local disk or in memory."""

    filename: str
    stream: BinaryIO


@dataclass(frozen=True)
class UploadResult:
    """What became of one uploaded file: a new image, a duplicate of one, or a refusal."""

    filename: str
    image: Image | None
    duplicate: bool
    #: Why the file was not stored (not an image, too large to decode, ...); None when it was.
    refusal: TraplineError | None = None


#: Errors that refuse one file of an upload and leave the others to be stored.
FILE_REFUSALS = (InvalidInput, PayloadTooLarge, UnsupportedMediaType)


@dataclass(frozen=True)
class ImagePage:
    """One page of an image listing."""

    #: How many images match (None: more than were counted).
    count: int | None
    images: list[Image]
    #: Whether more images lie beyond this page in the direction it was walked.
    more: bool


def upload_images(
    db: Database,
    store: BlobStore,
    caller: User,
    project_id: int,
    files: Sequence[IncomingFile],
    *,
    deployment_id: int | None,
    max_file_bytes: int,
    source: str = "upload",
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> list[UploadResult]:
    """Store new images of a project and find the ones it already has; refuse the others
    (members). A file that is not an accepted image or is too large is refused alone, with
    its reason, and the good files are stored (``store_images``).
    """
    if not files:
        raise InvalidInput("no files given; send one or more images in the form field 'files'")
    with db.read() as repos:
        _check_target(repos, caller, project_id, deployment_id)
    return store_images(
        db,
        store,
        project_id,
        files,
        deployment_id=deployment_id,
        max_file_bytes=max_file_bytes,
        source=source,
        uploaded_by=caller.id,
        recheck=lambda repos: _check_target(repos, caller, project_id, deployment_id),
        limits=limits,
    )


#: Called in the transaction that adds the images' rows, with the results of the files.
Recorder = Callable[[Repos, list[UploadResult]], None]


def store_images(
    db: Database,
    store: BlobStore,
    project_id: int,
    files: Sequence[IncomingFile],
    *,
    deployment_id: int | None,
    max_file_bytes: int,
    source: str,
    uploaded_by: int | None,
    recheck: Callable[[Repos], None],
    record: Recorder | None = None,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> list[UploadResult]:
    """Store new images of a project and find the ones it already has; no access check
    (uploads check the caller first, pull sources are the project's own).

    Each file is checked before anything is stored. A file that is not an accepted image or
    is too large is refused alone, with its reason, and the good files are stored; when every
    file is refused, the first refusal is raised. Bytes stream from the incoming file to
    storage; they are never held whole. Blobs are written before their rows, and every blob
    of this call that no committed row points at (the insert failed, or a concurrent upload
    of the same bytes won) is deleted before it returns. ``recheck`` runs when an insert
    breaks a key, to say why (the project or the deployment went away); ``record`` runs in
    the transaction that adds the rows, so whatever it writes commits with them or not at all.
    """
    measured = [_refused_or(partial(_hash_and_measure, f, max_file_bytes)) for f in files]
    hashes = [m[0] if isinstance(m, tuple) else None for m in measured]
    sizes = dict(m for m in measured if isinstance(m, tuple))
    with db.read() as repos:
        known = {
            h: repos.photos.images.by_sha256(project_id, h) for h in set(hashes) if h is not None
        }
    new = {sha: f for f, sha in zip(files, hashes, strict=True) if sha and known[sha] is None}
    written: dict[str, list[str]] = {}
    kept: set[str] = set()
    try:
        # Decoding is most of an upload's cost and Pillow releases the GIL while it decodes,
        # so the files of one request are checked side by side.
        with _pool(len(new)) as pool:
            inspected = dict(
                zip(
                    new,
                    pool.map(lambda f: _refused_or(partial(_inspect, f, limits)), new.values()),
                    strict=True,
                )
            )
            refused = {sha: r for sha, r in inspected.items() if isinstance(r, TraplineError)}
            stored = {
                sha: _Stored(info, new_image_key(project_id, sha, info.extension), sizes[sha])
                for sha, info in inspected.items()
                if isinstance(info, ImageFacts)
            }
            # Noted before writing, so that a write failing half-way is cleaned up too.
            written = {sha: _blob_keys(stored[sha]) for sha in stored}
            list(pool.map(lambda sha: _store_blobs(store, stored[sha], new[sha].stream), stored))
        named = [
            (f.filename, sha, m if isinstance(m, TraplineError) else refused.get(sha or ""))
            for f, sha, m in zip(files, hashes, measured, strict=True)
        ]
        refusals = [refusal for _, _, refusal in named if refusal is not None]
        if len(refusals) == len(named):
            raise refusals[0]
        target = _Target(project_id, deployment_id, uploaded_by, source, recheck)
        results = _insert_rows(db, target, named, known, stored, record)
        # Committed: these blobs have their rows now.
        kept = {r.image.sha256 for r in results if r.image is not None and not r.duplicate}
        return results
    finally:
        _delete_blobs(store, [key for sha, k in written.items() if sha not in kept for key in k])


def _refused_or(check: Callable[[], _T]) -> _T | TraplineError:
    """What ``check`` returns, or the error that refuses the file it checks."""
    try:
        return check()
    except FILE_REFUSALS as exc:
        return exc


@dataclass(frozen=True)
class _Target:
    """Where new rows go and who they name."""

    project_id: int
    deployment_id: int | None
    uploaded_by: int | None
    source: str
    recheck: Callable[[Repos], None]


@dataclass(frozen=True)
class _Stored:
    """A new file's facts and where its blobs go."""

    facts: ImageFacts
    key: str
    size_bytes: int


def _check_target(repos: Repos, caller: User, project_id: int, deployment_id: int | None) -> None:
    project_for(repos, caller, project_id, Role.MEMBER)
    if deployment_id is not None:
        deployment = repos.core.deployments.get(deployment_id)
        if deployment is None or deployment.project_id != project_id:
            raise InvalidInput(f"deployment {deployment_id} is not in project {project_id}")


def _insert_rows(
    db: Database,
    target: _Target,
    named: Sequence[tuple[str, str | None, TraplineError | None]],
    known: dict[str, Image | None],
    stored: dict[str, _Stored],
    record: Recorder | None,
) -> list[UploadResult]:
    """Add the rows of new hashes in one transaction; the others answer the image they match.

    ``named`` holds each file's name, hash and refusal (if refused), in the order of the request.
    """
    project_id = target.project_id
    results: list[UploadResult] = []
    with db.write() as repos:
        # Read with the project's row held: a zone change waits for these rows, so the
        # re-reading it starts finds them (repositories/photos/capture_times.py).
        clock = repos.photos.capture_times.clock_for(project_id, target.deployment_id)
        zone, standard_time = clock if clock is not None else (DEFAULT_ZONE, False)
        for filename, sha, refusal in named:
            if refusal is not None or sha is None:
                results.append(UploadResult(filename, None, duplicate=False, refusal=refusal))
                continue
            existing = known[sha] or repos.photos.images.by_sha256(project_id, sha)
            if existing is not None:
                results.append(UploadResult(filename, existing, duplicate=True))
                continue
            new = stored[sha]  # unknown when checked, so inspected and stored
            image = repos.photos.images.insert(
                project_id=project_id,
                deployment_id=target.deployment_id,
                storage_key=new.key,
                filename=filename,
                sha256=sha,
                size_bytes=new.size_bytes,
                width=new.facts.width,
                height=new.facts.height,
                content_type=new.facts.content_type,
                captured_at=new.facts.captured_at,
                captured_offset_minutes=capture_offset(
                    new.facts.captured_at,
                    new.facts.captured_offset_minutes,
                    zone,
                    standard_time=standard_time,
                ),
                file_offset_minutes=new.facts.captured_offset_minutes,
                source=target.source,
                uploaded_by=target.uploaded_by,
            )
            if image is None:
                # Another upload of the same bytes committed first, or the project or the
                # deployment went away since they were checked (the insert broke a key).
                raced = repos.photos.images.by_sha256(project_id, sha)
                if raced is None:
                    target.recheck(repos)
                    raise Conflict(
                        f'"{filename}" could not be stored: project {project_id} changed while'
                        " the files were uploaded; nothing was kept, retry the upload"
                    )
                results.append(UploadResult(filename, raced, duplicate=True))
            else:
                known[sha] = image
                results.append(UploadResult(filename, image, duplicate=False))
        events.photos_added(
            repos, [r.image.id for r in results if r.image is not None and not r.duplicate]
        )
        if record is not None:
            record(repos, results)
    return results


def _delete_blobs(store: BlobStore, keys: Sequence[str]) -> None:
    """Remove blobs no row points at; a failure is logged, not raised over the real answer."""
    for key in keys:
        try:
            store.delete(key)
        except StorageError as exc:
            log.warning("could not delete the unused blob %s: %s", key, exc.detail)


def list_images(
    db: Database,
    caller: User,
    project_id: int,
    flt: ImageFilter,
    *,
    order: ImageOrder,
    limit: int,
    offset: int = 0,
    cursor: Cursor | None = None,
    capped: bool = False,
) -> ImagePage:
    """A page of a project's images that match the filter, and how many match (``capped``:
    counted only as far as ``paging.COUNTED_UP_TO``, None past it)."""
    with db.read() as repos:
        project_for(repos, caller, project_id, Role.VIEWER)
        found = repos.photos.images
        images, more = found.page(
            project_id, flt, order=order, limit=limit, offset=offset, cursor=cursor
        )
        count = found.count_up_to(project_id, flt) if capped else found.count(project_id, flt)
        return ImagePage(count, images, more)


def get_image(db: Database, caller: User, image_id: int, needed: Role = Role.VIEWER) -> Image:
    """An image the caller may see."""
    with db.read() as repos:
        image = require(repos.core.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, needed, asked=("image", image_id))
        return image


def delete_image(db: Database, store: BlobStore, caller: User, image_id: int) -> None:
    """Delete an image (managers): the row first, so no row ever points at missing bytes."""
    with db.write() as repos:
        image = require(repos.core.images.get(image_id), "image", image_id)
        project_for(repos, caller, image.project_id, Role.MANAGER, asked=("image", image_id))
        spans = events.photos_leaving(repos, [image.id])
        # What people said of the individuals seen on it stays with them on their other photos.
        repos.review.identifications.off_the_photo(image.id)
        repos.photos.images.delete(image)
        events.photos_left(repos, spans)
    for key in [image.storage_key, *(thumbnail_key(image.storage_key, s) for s in THUMBNAIL_SIZES)]:
        store.delete(key)


def download_url(
    db: Database, store: BlobStore, caller: User, image_id: int, *, expires_in: int
) -> str:
    """A signed, expiring URL of the original image."""
    image = get_image(db, caller, image_id)
    return store.signed_url(image.storage_key, expires_in=expires_in)


def image_exif(
    db: Database, store: BlobStore, caller: User, image_id: int
) -> list[tuple[str, str]]:
    """The EXIF tags of an image's stored file, read from its first bytes."""
    image = get_image(db, caller, image_id)
    with store.opened(image.storage_key) as original:
        head = original.read(HEAD_BYTES)
    return exif_tags(head)


def thumbnail_url(
    db: Database,
    store: BlobStore,
    caller: User,
    image_id: int,
    size: int,
    *,
    expires_in: int,
    limits: DecodeLimits = DEFAULT_LIMITS,
) -> str:
    """A signed URL of the image's thumbnail, made (once) when it is missing."""
    if size not in THUMBNAIL_SIZES:
        sizes = " or ".join(str(s) for s in THUMBNAIL_SIZES)
        raise InvalidInput(f"size must be {sizes} (got {size})")
    image = get_image(db, caller, image_id)
    key = thumbnail_key(image.storage_key, size)
    if not store.exists(key):
        with store.opened(image.storage_key) as original:
            thumb = make_thumbnail(original, size, limits=limits)
        store.put_bytes(key, thumb, content_type="image/jpeg", durable=False)
        with db.read() as repos:
            gone = repos.core.images.get(image_id) is None
        if gone:
            # Deleted while the thumbnail was made: its deletion may have missed this file.
            _delete_blobs(store, [key])
            raise NotFound(f"image {image_id} not found")
    return store.signed_url(key, expires_in=expires_in)


def _hash_and_measure(incoming: IncomingFile, max_file_bytes: int) -> tuple[str, int]:
    stream = incoming.stream
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    while chunk := stream.read(_CHUNK):
        size += len(chunk)
        if size > max_file_bytes:
            raise PayloadTooLarge(
                f'"{incoming.filename}" is larger than the {max_file_bytes} byte limit for one file'
            )
        digest.update(chunk)
    stream.seek(0)
    return digest.hexdigest(), size


def _inspect(incoming: IncomingFile, limits: DecodeLimits) -> ImageFacts:
    return inspect_image(
        incoming.stream, incoming.filename, thumbnail_sizes=UPLOAD_THUMBNAILS, limits=limits
    )


def _pool(files: int) -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=max(1, min(UPLOAD_THREADS, files)))


def _blob_keys(new: _Stored) -> list[str]:
    return [new.key, *(thumbnail_key(new.key, size) for size in new.facts.thumbnails)]


def _store_blobs(store: BlobStore, new: _Stored, stream: BinaryIO) -> None:
    key = new.key
    stream.seek(0)
    store.put(key, stream, content_type=new.facts.content_type)
    for size, data in new.facts.thumbnails.items():
        # Thumbnails can be made again from the original, so they skip the flush to disk.
        store.put_bytes(thumbnail_key(key, size), data, content_type="image/jpeg", durable=False)
