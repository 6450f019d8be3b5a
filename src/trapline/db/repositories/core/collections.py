"""Collections: named sets of images."""

from __future__ import annotations

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from trapline.db.tables import CollectionImageRow, CollectionRow
from trapline.domain.core.records import Collection, ImageFilter


class CollectionRepo:
    """Collections of projects."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self,
        project_id: int,
        name: str,
        description: str,
        *,
        image_ids: list[int] | None,
        flt: ImageFilter | None,
        created_by: int | None,
    ) -> Collection:
        """Add a collection from an explicit list of image ids or a saved filter."""
        row = CollectionRow(
            project_id=project_id,
            name=name,
            description=description,
            kind="explicit" if image_ids is not None else "filter",
            filter=flt.as_json() if flt is not None else None,
            created_by=created_by,
        )
        self.session.add(row)
        self.session.flush()
        if image_ids:
            unique = sorted(set(image_ids))
            for start in range(0, len(unique), 1000):
                self.session.execute(
                    insert(CollectionImageRow),
                    [
                        {"collection_id": row.id, "image_id": i}
                        for i in unique[start : start + 1000]
                    ],
                )
        return self._record(row)

    def get(self, collection_id: int) -> Collection | None:
        """The collection with this id."""
        row = self.session.get(CollectionRow, collection_id)
        return self._record(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[Collection]]:
        """A project's collections by id."""
        where = CollectionRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(CollectionRow)
            .where(where)
            .order_by(CollectionRow.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [self._record(r) for r in rows]

    def delete(self, collection_id: int) -> None:
        """Remove a collection (its images stay)."""
        self.session.execute(delete(CollectionRow).where(CollectionRow.id == collection_id))

    def _record(self, row: CollectionRow) -> Collection:
        explicit_count = None
        if row.kind == "explicit":
            explicit_count = self.session.scalar(
                select(func.count()).where(CollectionImageRow.collection_id == row.id)
            )
        return Collection(
            id=row.id,
            project_id=row.project_id,
            name=row.name,
            description=row.description,
            kind=row.kind,
            filter=ImageFilter.from_json(row.filter) if row.filter else None,
            image_count=explicit_count,
            created_at=row.created_at,
        )
