"""A photo as a record every capability may look up: by id, and which ids are a project's.
Uploading, listing and removing photos are the photos capability's (``repositories/photos``)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.repositories.core.rows import to_image
from trapline.db.tables import ImageRow
from trapline.domain.core.records import Image


class ImageRecordRepo:
    """Photos looked up as records."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def get(self, image_id: int) -> Image | None:
        """The image with this id."""
        row = self.session.get(ImageRow, image_id)
        return to_image(row) if row else None

    def existing_ids(self, project_id: int, ids: Iterable[int]) -> set[int]:
        """Which of ``ids`` are images of the project."""
        wanted = list(set(ids))
        found: set[int] = set()
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found.update(
                self.session.scalars(
                    select(ImageRow.id).where(
                        ImageRow.project_id == project_id, ImageRow.id.in_(chunk)
                    )
                )
            )
        return found
