"""People's identifications of occurrences and detections, and the queue of occurrences
that need a person's look."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.core.users import USER_NAME
from trapline.db.repositories.ecology.handover import WORD
from trapline.db.repositories.ecology.occurrences import to_occurrence
from trapline.db.repositories.review.identification_queue import read_label_groups, read_queue
from trapline.db.tables import (
    AnnotationRow,
    IdentificationRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    TaxonRow,
    UserRow,
)
from trapline.db.types import BIGINT_MAX, chunks
from trapline.domain.ecology.occurrences import LabelGroup, Occurrence
from trapline.domain.ecology.species import Scope
from trapline.domain.taxa.taxa import Identification, Rank


class IdentificationRepo:
    """Identifications, kept with their history."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(
        self, *, project_id: int, occurrence_id: int | None, annotation_id: int,
        taxon_id: int | None, agreed_with: str | None, comment: str, user_id: int, at: datetime,
        rejected: str | None = None,
    ) -> int:  # fmt: skip
        """Keep an identification: a taxon, or a rejection (``rejected``) naming none."""
        row = IdentificationRow(
            project_id=project_id, occurrence_id=occurrence_id, annotation_id=annotation_id,
            taxon_id=taxon_id, rejected=rejected, agreed_with=agreed_with, comment=comment,
            user_id=user_id, created_at=at,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def withdraw(self, identification_id: int) -> list[int]:
        """Withdraw an identification with the copies a parting made of it (the same word:
        ``WORD`` all alike; docs/counting.md); the detections they are attached to."""
        i = IdentificationRow
        found = self.session.execute(select(*WORD).where(i.id == identification_id)).first()
        if found is None:
            return []
        same = [
            column.is_not_distinct_from(value) for column, value in zip(WORD, found, strict=True)
        ]
        return list(
            self.session.scalars(
                update(i)
                .where(*same, i.withdrawn.is_(False))
                .values(withdrawn=True)
                .returning(i.annotation_id)
            )
        )

    def get(self, identification_id: int) -> Identification | None:
        """One identification (None for an id no row can have, as for one no row has)."""
        if not 1 <= identification_id <= BIGINT_MAX:
            return None
        found = self._read(IdentificationRow.id == identification_id)
        return found[0] if found else None

    def many(self, identification_ids: Sequence[int]) -> dict[int, Identification]:
        """These identifications, by id."""
        found: dict[int, Identification] = {}
        for chunk in chunks(identification_ids):
            found.update((i.id, i) for i in self._read(IdentificationRow.id.in_(chunk)))
        return found

    def occurrences_of(
        self, project_id: int, occurrence_ids: Sequence[int]
    ) -> dict[int, Occurrence]:
        """Those of these occurrences that are the project's, by id (ids no row can have are
        left out, as ids no row has are)."""
        valid = [i for i in occurrence_ids if 1 <= i <= BIGINT_MAX]
        found: dict[int, Occurrence] = {}
        for chunk in chunks(valid):
            rows = self.session.scalars(
                select(OccurrenceRow).where(
                    OccurrenceRow.id.in_(chunk), OccurrenceRow.project_id == project_id
                )
            )
            found.update((r.id, to_occurrence(r)) for r in rows)
        return found

    def of_occurrence(self, occurrence_id: int) -> list[Identification]:
        """Every identification of an occurrence, oldest first: those of its detections and
        those made on it."""
        members = select(OccurrenceDetectionRow.annotation_id).where(
            OccurrenceDetectionRow.occurrence_id == occurrence_id
        )
        return self._read(
            or_(
                IdentificationRow.annotation_id.in_(members),
                IdentificationRow.occurrence_id == occurrence_id,
            )
        )

    def unplaced(
        self, project_id: int, *, limit: int, offset: int
    ) -> tuple[int, list[Identification]]:
        """The project's identifications (not withdrawn) whose detection no occurrence
        holds now: new results had no successor for it (``domain/ecology/succession.py``), or it no
        longer takes part. Oldest first, with how many there are."""
        held = select(OccurrenceDetectionRow.annotation_id).where(
            OccurrenceDetectionRow.annotation_id == IdentificationRow.annotation_id
        )
        where = (
            (IdentificationRow.project_id == project_id)
            & IdentificationRow.withdrawn.is_(False)
            & ~held.exists()
        )
        total = self.session.scalar(
            select(func.count()).select_from(IdentificationRow).where(where)
        )
        found = self._read(where, limit=limit, offset=offset)
        return int(total or 0), found

    def recent_taxa(self, project_id: int, user_id: int, *, limit: int, window: int) -> list[int]:
        """The taxa a person named most recently in a project, newest first, each once: at
        most ``limit`` of those their latest ``window`` identifications (not withdrawn, not
        rejections) name. The window keeps the read bounded by the index on (user, project,
        id) however many identifications the person made."""
        latest = (
            select(IdentificationRow.id, IdentificationRow.taxon_id)
            .where(
                IdentificationRow.user_id == user_id,
                IdentificationRow.project_id == project_id,
                IdentificationRow.withdrawn.is_(False),
                IdentificationRow.taxon_id.is_not(None),
            )
            .order_by(IdentificationRow.id.desc())
            .limit(window)
            .subquery()
        )
        newest = func.max(latest.c.id)
        rows = self.session.execute(
            select(latest.c.taxon_id, newest)
            .group_by(latest.c.taxon_id)
            .order_by(newest.desc())
            .limit(limit)
        )
        return [int(taxon) for taxon, _ in rows]

    def off_the_photo(self, image_id: int) -> int:
        """Move the identifications attached to a photo's detections onto the most confident
        detection of the same occurrence on another photo, before the photo goes (they would
        go with its detections); how many moved. Those of a detection in no occurrence, or of
        an occurrence seen on this photo alone, go with it."""
        on_photo = (
            select(IdentificationRow.id, OccurrenceDetectionRow.occurrence_id)
            .join(AnnotationRow, AnnotationRow.id == IdentificationRow.annotation_id)
            .join(
                OccurrenceDetectionRow,
                OccurrenceDetectionRow.annotation_id == IdentificationRow.annotation_id,
            )
            .where(AnnotationRow.image_id == image_id)
        )
        moved = 0
        for identification_id, occurrence_id in self.session.execute(on_photo).all():
            other = self.session.scalar(
                select(OccurrenceDetectionRow.annotation_id)
                .join(AnnotationRow, AnnotationRow.id == OccurrenceDetectionRow.annotation_id)
                .where(
                    OccurrenceDetectionRow.occurrence_id == occurrence_id,
                    OccurrenceDetectionRow.image_id != image_id,
                )
                .order_by(AnnotationRow.confidence.desc().nulls_last(), AnnotationRow.id)
                .limit(1)
            )
            if other is not None:
                self.session.execute(
                    update(IdentificationRow)
                    .where(IdentificationRow.id == identification_id)
                    .values(annotation_id=other)
                )
                moved += 1
        return moved

    def of_annotation(self, annotation_id: int) -> list[Identification]:
        return self._read(IdentificationRow.annotation_id == annotation_id)

    def _read(
        self, where: object, *, limit: int | None = None, offset: int = 0
    ) -> list[Identification]:
        rows = self.session.execute(
            select(IdentificationRow, TaxonRow.scientific_name, TaxonRow.rank, USER_NAME)
            .outerjoin(TaxonRow, TaxonRow.id == IdentificationRow.taxon_id)
            .outerjoin(UserRow, UserRow.id == IdentificationRow.user_id)
            .where(where)  # type: ignore[arg-type]
            .order_by(IdentificationRow.id)
            .limit(limit)
            .offset(offset)
        )
        return [
            Identification(
                id=row.id,
                project_id=row.project_id,
                occurrence_id=row.occurrence_id,
                annotation_id=row.annotation_id,
                taxon_id=row.taxon_id,
                taxon_name=name,
                taxon_rank=Rank(rank) if rank is not None else None,
                agreed_with=row.agreed_with,
                comment=row.comment,
                user_id=row.user_id,
                user_name=user,
                created_at=row.created_at,
                withdrawn=row.withdrawn,
                rejected=row.rejected,
            )
            for row, name, rank, user in rows
        ]

    def queue(self, scope: Scope, *, limit: int, offset: int) -> tuple[int, list[Occurrence]]:
        """The occurrences of a scope's project and pipeline that need a person's look, most
        needed first: people disagreeing; then no taxon, or one above species rank; then the
        least sure. An occurrence a person identified, undisputed, needs none."""
        return read_queue(self.session, scope, limit=limit, offset=offset)

    def queue_labels(
        self, scope: Scope, *, limit: int, offset: int, per_label: int, shown: int
    ) -> tuple[int, list[LabelGroup]]:
        """The occurrences of the queue that the models determine, by their label and its
        taxon, most occurrences first: how many groups, and a page of them with the ids of up
        to ``per_label`` occurrences each, the least sure first, the first ``shown`` whole."""
        return read_label_groups(
            self.session, scope, limit=limit, offset=offset, per_label=per_label, shown=shown
        )
