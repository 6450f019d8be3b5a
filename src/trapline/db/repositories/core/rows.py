"""Records of the core from rows of their tables, for every capability that reads them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Row

from trapline.db.tables import ImageRow
from trapline.domain.core.records import Image


def to_image(row: ImageRow | Row[Any], *, new: bool = False) -> Image:
    """Record from an ORM row or a plain row of the images table; ``new``: just inserted, so
    in no event yet (its event, kept in another table, is not read back)."""
    return Image(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        storage_key=row.storage_key,
        filename=row.filename,
        sha256=row.sha256,
        size_bytes=row.size_bytes,
        width=row.width,
        height=row.height,
        content_type=row.content_type,
        captured_at=row.captured_at,
        captured_offset_minutes=row.captured_offset_minutes,
        source=row.source,
        created_at=row.created_at,
        file_offset_minutes=row.file_offset_minutes,
        event_id=None if new else getattr(row, "event_id", None),
    )
