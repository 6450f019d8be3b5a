"""The names people gave detections (identifications not withdrawn), as tracking reads them
to carry each to the individual that holds its detection."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.repositories.core.users import USER_NAME
from trapline.db.tables import IdentificationRow, TaxonRow, UserRow
from trapline.db.types import chunks
from trapline.domain.taxa.taxa import IdentificationMark


def marks(session: Session, annotation_ids: Sequence[int]) -> dict[int, list[IdentificationMark]]:
    """The identifications (not withdrawn) of these detections, oldest first, by detection:
    rejections too (they name no taxon)."""
    found: dict[int, list[IdentificationMark]] = {}
    for chunk in chunks(annotation_ids):
        rows = session.execute(
            select(
                IdentificationRow.annotation_id,
                IdentificationRow.id,
                IdentificationRow.taxon_id,
                TaxonRow.scientific_name,
                IdentificationRow.user_id,
                USER_NAME,
                IdentificationRow.rejected,
            )
            .outerjoin(TaxonRow, TaxonRow.id == IdentificationRow.taxon_id)
            .outerjoin(UserRow, UserRow.id == IdentificationRow.user_id)
            .where(
                IdentificationRow.annotation_id.in_(chunk),
                IdentificationRow.withdrawn.is_(False),
            )
            .order_by(IdentificationRow.id)
        )
        for annotation_id, *mark in rows:
            found.setdefault(int(annotation_id), []).append(IdentificationMark(*mark))
    return found
