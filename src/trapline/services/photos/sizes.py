"""Upright sizes of photos stored before trapline turned photos by their EXIF orientation.

Since then a photo is stored with its upright size, the frame pipelines' boxes are in. One
stored earlier with a quarter-turn orientation (5 to 8: phone photos held upright) has its
raw size, and every box a worker finds beyond the raw width is refused. ``reread_sizes``
reads each stored file's header again (no pixel is decoded) and records the upright size;
``trapline admin reread-sizes`` runs it. Running it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from trapline.db.engine import Database
from trapline.errors import NotFound, UnsupportedMediaType
from trapline.imaging.probe import upright_size
from trapline.storage.base import BlobStore

#: Images read per batch (one read, then one write of those whose size changes).
BATCH_SIZE = 500
#: Unreadable files named in the outcome, at most.
MAX_NAMED = 20


@dataclass
class SizesReread:
    """What a re-reading of sizes found so far."""

    checked: int = 0
    #: Images whose recorded size was not their upright size, now corrected.
    corrected: int = 0
    #: Images whose file is missing or no longer reads as an image (left as they are).
    unreadable: int = 0
    #: The first few of those, with why.
    named: list[str] = field(default_factory=list)
    #: The last image read (a run stopped by a storage failure can start after it).
    last_id: int = 0


def reread_sizes(
    db: Database,
    store: BlobStore,
    *,
    project_id: int | None = None,
    after_id: int = 0,
    progress: Callable[[SizesReread], None] | None = None,
) -> SizesReread:
    """Read the upright size of every image (of a project, or all; after ``after_id``) from
    its stored file and record it where it differs. A storage failure stops the run (its
    error says so; what was read before stays recorded)."""
    found = SizesReread(last_id=after_id)
    while True:
        with db.read() as repos:
            batch = repos.photos.images.sizes_after(found.last_id, BATCH_SIZE, project_id)
        if not batch:
            return found
        turned: list[tuple[int, int, int]] = []
        for image_id, key, width, height in batch:
            try:
                with store.opened(key) as stream:
                    upright = upright_size(stream)
            except (NotFound, UnsupportedMediaType) as exc:
                found.unreadable += 1
                if len(found.named) < MAX_NAMED:
                    found.named.append(f"image {image_id}: {exc.detail}")
                continue
            if upright != (width, height):
                turned.append((image_id, *upright))
        if turned:
            with db.write() as repos:
                for image_id, width, height in turned:
                    repos.photos.images.set_size(image_id, width, height)
        found.checked += len(batch)
        found.corrected += len(turned)
        found.last_id = batch[-1][0]
        if progress is not None:
            progress(found)
