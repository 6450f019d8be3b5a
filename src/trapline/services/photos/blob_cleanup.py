"""The blob clean-up duty: remove blobs no row names any more.

Deleting a project, or an image, commits the rows first and then removes the blobs, so a
crash (or a storage outage) in between leaves bytes no row names: a deleted project's whole
folder, or an image's original and thumbnails. This duty finds them under each project's
prefixes and removes them, on any blob store. Jobs own no blobs: deleting one leaves its
images, and their bytes, in place.

Uploads write their blobs before their rows, so a blob younger than ``GRACE`` is left alone:
it may belong to an upload still running.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.duties import NEVER, Stop
from trapline.services.photos.blob_keys import project_blob_prefixes, thumbnail_key
from trapline.storage.base import BlobStore, StoredBlob

log = logging.getLogger(__name__)

#: Seconds between runs of the duty.
CLEANUP_INTERVAL = 900.0
#: Blobs younger than this are never removed (an upload writes blobs before rows).
GRACE = timedelta(hours=1)
#: Hashes asked about in one query.
_BATCH = 500
#: ``images/<project>/…/<sha256>-…`` and ``thumbnails/<project>/…/<sha256>-…``.
_KEY = re.compile(r"(images|thumbnails)/(\d+)/(?:[^/]+/)*([0-9a-f]{64})-[^/]+")


def remove_unreferenced_blobs(
    db: Database,
    store: BlobStore,
    *,
    grace: timedelta = GRACE,
    now: datetime | None = None,
    stop: Stop = NEVER,
) -> int:
    """Remove the blobs no row names that are older than ``grace``, a project at a time
    until ``stop`` is set; returns how many."""
    cutoff = (now or utcnow()) - grace
    found: dict[int, list[tuple[StoredBlob, str]]] = defaultdict(list)
    for top in ("images/", "thumbnails/"):
        for blob in store.list_blobs(top):
            parsed = _KEY.fullmatch(blob.key)
            if parsed and blob.modified < cutoff:
                found[int(parsed[2])].append((blob, parsed[3]))
    removed = 0
    for project_id, blobs in sorted(found.items()):
        if stop.is_set():
            break
        with db.read() as repos:
            gone = repos.core.projects.get(project_id) is None
        if gone:
            for prefix in project_blob_prefixes(project_id):
                store.delete_prefix(prefix)
            log.info("removed the blobs of deleted project %s (%s found)", project_id, len(blobs))
            removed += len(blobs)
            continue
        originals = _named_by_rows(db, project_id, {sha for _, sha in blobs})
        # A thumbnail's key is its original's stem, its size and ".jpg"; any size counts.
        stems = {thumbnail_key(key, 0).removesuffix("-0.jpg") for key in originals}
        for blob, _ in blobs:
            if blob.key not in originals and blob.key.rsplit("-", 1)[0] not in stems:
                store.delete(blob.key)
                removed += 1
    if removed:
        log.info("blob clean-up removed %s blobs no row names", removed)
    return removed


def _named_by_rows(db: Database, project_id: int, sha256s: Iterable[str]) -> set[str]:
    """Storage keys of the project's images with these hashes."""
    wanted = sorted(sha256s)
    keys: set[str] = set()
    with db.read() as repos:
        for start in range(0, len(wanted), _BATCH):
            keys |= repos.photos.images.storage_keys_of(project_id, wanted[start : start + _BATCH])
    return keys


def run_blob_cleanup(db: Database, store: BlobStore, clock: Clock, stop: Stop = NEVER) -> None:
    """One run of the duty."""
    remove_unreferenced_blobs(db, store, now=clock.now(), stop=stop)
