"""Images: storage facts, lookups by hash, filtered and keyset-paginated listings."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, cast

from sqlalchemy import (
    Select,
    Table,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trapline.db.image_filters import (
    PHOTOS,
    Walk,
    by_results,
    counted_alone,
    few_sure,
    filtered,
    sure_alone,
    walk,
    within,
)
from trapline.db.photo_findings import findings_due, findings_kept
from trapline.db.repositories.core.rows import to_image
from trapline.db.repositories.processing.tasks import OPEN
from trapline.db.tables import (
    ImageEventRow,
    ImageRow,
    JobRow,
    ProjectRow,
    TaskRow,
)
from trapline.db.types import affected, count_up_to, lock_row
from trapline.domain.core.paging import Cursor, ImageOrder, capture_sort_key
from trapline.domain.core.records import Image, ImageFilter

#: The images table, for plain-row queries on hot paths.
_IMAGES = cast(Table, ImageRow.__table__)


def _after_capture(
    base: Select[Any], cursor: Cursor, descending: bool, offset: int, limit: int, walked: Walk
) -> Select[Any]:
    """Images beyond a cursor in capture order, as two index seeks.

    ``(captured_sort, id) > (s, i)`` would be one seek, but SQLite seeks on ``captured_sort``
    alone when ``id`` is the rowid and then scans every tie, and all undated images tie. So:
    the rest of the cursor's tie (``captured_sort = s AND id > i``), then everything after it.
    """
    sort = capture_sort_key(cursor.captured_sort)
    column, key = walked.sort, walked.key
    if descending:
        tie = base.where(column == sort, key < cursor.id).order_by(key.desc())
        rest = base.where(column < sort).order_by(column.desc(), key.desc())
    else:
        tie = base.where(column == sort, key > cursor.id).order_by(key.asc())
        rest = base.where(column > sort).order_by(column.asc(), key.asc())
    wanted = offset + limit
    both = union_all(
        select(tie.limit(wanted).subquery()), select(rest.limit(wanted).subquery())
    ).subquery()
    ordering = (
        (both.c.captured_sort.desc(), both.c.id.desc())
        if descending
        else (both.c.captured_sort.asc(), both.c.id.asc())
    )
    return select(both).order_by(*ordering).offset(offset).limit(limit)


class ImageRepo:
    """Images of projects."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def storage_keys_of(self, project_id: int, sha256s: Iterable[str]) -> set[str]:
        """The storage keys of the project's images with these hashes (the blob clean-up's
        question: which of the blobs it found does a row still name?)."""
        return set(
            self.session.scalars(
                select(ImageRow.storage_key).where(
                    ImageRow.project_id == project_id, ImageRow.sha256.in_(list(sha256s))
                )
            )
        )

    def by_sha256(self, project_id: int, sha256: str) -> Image | None:
        """The project's image with these bytes, if it has one."""
        row = self.session.scalar(
            select(ImageRow).where(ImageRow.project_id == project_id, ImageRow.sha256 == sha256)
        )
        return to_image(row) if row else None

    def insert(self, **values: Any) -> Image | None:
        """Add an image and count it in its project; None when the project already has its hash."""
        values["captured_sort"] = capture_sort_key(values.get("captured_at"))
        row = ImageRow(**values)
        try:
            with self.session.begin_nested():
                self.session.add(row)
                self.session.flush()
        except IntegrityError:
            return None
        self._count_in_project(row.project_id, 1)
        findings_due(self.session, [row.id])  # no results yet: found without detections
        return to_image(row, new=True)

    def bulk_insert(self, project_id: int, rows: Sequence[dict[str, Any]]) -> None:
        """Insert many images at once (imports, benchmarks); hashes must be new."""
        for values in rows:
            values["project_id"] = project_id
            values["captured_sort"] = capture_sort_key(values.get("captured_at"))
        ids = self.session.scalars(insert(ImageRow).returning(ImageRow.id), list(rows)).all()
        self._count_in_project(project_id, len(rows))
        findings_due(self.session, ids)

    def delete(self, image: Image) -> None:
        """Remove an image, its tasks and results (by cascade), and uncount it and its open
        tasks."""
        # The project's row first: an enqueue in the project holds a key-share lock on it
        # until it commits, so the tasks read below include any it makes for this image (the
        # cascade would take them uncounted), and one that starts later does not see it.
        lock_row(self.session, ProjectRow.id, image.project_id, exclusive=True)
        # The image's tasks before its row, as a result being stored takes them (its tasks,
        # then the image by the key of its analyses): each waits for such a result to commit
        # instead of deadlocking with it. Open ones are uncounted from their jobs.
        gone = self.session.execute(
            delete(TaskRow)
            .where(TaskRow.image_id == image.id)
            .returning(TaskRow.job_id, TaskRow.status)
        ).all()
        for job_id, status in gone:
            if status in OPEN:
                self.session.execute(
                    update(JobRow)
                    .where(JobRow.id == job_id)
                    .values(open_tasks=JobRow.open_tasks - 1)
                )
        # Its event link has no key to the image to take it by cascade (decision 045).
        self.session.execute(delete(ImageEventRow).where(ImageEventRow.image_id == image.id))
        if affected(self.session.execute(delete(ImageRow).where(ImageRow.id == image.id))):
            self._count_in_project(image.project_id, -1)

    def sizes_after(
        self, after_id: int, limit: int, project_id: int | None = None
    ) -> list[tuple[int, str, int, int]]:
        """(id, storage key, width, height) of the images after ``after_id`` (of a project,
        or all), in order of id, at most ``limit``."""
        i = ImageRow
        query = select(i.id, i.storage_key, i.width, i.height).where(i.id > after_id)
        if project_id is not None:
            query = query.where(i.project_id == project_id)
        rows = self.session.execute(query.order_by(i.id).limit(limit))
        return [(int(a), str(k), int(w), int(h)) for a, k, w, h in rows]

    def set_size(self, image_id: int, width: int, height: int) -> None:
        """Record an image's upright size."""
        self.session.execute(
            update(ImageRow).where(ImageRow.id == image_id).values(width=width, height=height)
        )

    def count(self, project_id: int, flt: ImageFilter, *, collection_id: int | None = None) -> int:
        """How many images match; an unfiltered count reads the project's counter."""
        if flt == ImageFilter() and collection_id is None:
            return self._counter(project_id)
        return (
            self.session.scalar(self._matching(project_id, flt, collection_id, func.count())) or 0
        )

    def count_up_to(self, project_id: int, flt: ImageFilter) -> int | None:
        """How many images match, as far as ``paging.COUNTED_UP_TO`` (None past it: the
        API's listings, whose count then costs the same at any size of project); an
        unfiltered count reads the project's counter."""
        if flt == ImageFilter():
            return self._counter(project_id)
        return count_up_to(self.session, self._matching(project_id, flt, None))

    def _matching(
        self, project_id: int, flt: ImageFilter, collection_id: int | None, what: Any = None
    ) -> Select[Any]:
        """``what`` (by default the ids) of the images that match, read from the findings
        alone when their conditions make the whole filter (``counted_alone``)."""
        walked = self._walk(project_id, flt, counting=True)
        if counted_alone(walked, flt, collection_id):
            found = walked.table.image_id if what is None else what
            return select(found).select_from(walked.table).where(*walked.terms)
        found = ImageRow.id if what is None else what
        return filtered(select(found), project_id, flt, collection_id, walked)

    def _counter(self, project_id: int) -> int:
        """The project's count of its images."""
        found = select(ProjectRow.image_count).where(ProjectRow.id == project_id)
        return self.session.scalar(found) or 0

    def page(
        self,
        project_id: int,
        flt: ImageFilter,
        *,
        order: ImageOrder,
        limit: int,
        offset: int = 0,
        cursor: Cursor | None = None,
        collection_id: int | None = None,
    ) -> tuple[list[Image], bool]:
        """One page of matching images and whether more lie beyond it in the walking direction.

        With a cursor the page starts next to the cursor's item (before it, for a backwards
        cursor) using the sort index, so any page costs the same as the first.
        """
        backwards = cursor is not None and cursor.backwards
        descending = order.descending != backwards
        walked = self._walk(project_id, flt)
        base = filtered(
            select(*_IMAGES.c, ImageRow.event_id.label("event_id")),
            project_id,
            flt,
            collection_id,
            walked,
        )
        if cursor is None:
            columns = (walked.sort, walked.key) if order.by_capture else (walked.key,)
            query = base.order_by(*(c.desc() if descending else c.asc() for c in columns))
            query = query.offset(offset).limit(limit + 1)
        elif order.by_capture:
            query = _after_capture(base, cursor, descending, offset, limit + 1, walked)
        else:
            beyond = walked.key < cursor.id if descending else walked.key > cursor.id
            ordered = walked.key.desc() if descending else walked.key.asc()
            query = base.where(beyond).order_by(ordered).offset(offset).limit(limit + 1)
        rows = list(self.session.execute(query))
        more = len(rows) > limit
        rows = rows[:limit]
        if backwards:
            rows.reverse()
        return [to_image(r) for r in rows], more

    def _walk(self, project_id: int, flt: ImageFilter, *, counting: bool = False) -> Walk:
        if not by_results(flt):
            return PHOTOS
        if not findings_kept(self.session, project_id):
            return walk(project_id, flt, kept=False)
        # A count reads the findings' index however many match. A page walks them only when few
        # match across the project: within a deployment or a time the photos' walk is bounded,
        # and joining findings there is a plan PostgreSQL's generic plans get wrong (seconds).
        few = sure_alone(flt) and (
            counting or (not within(flt) and few_sure(self.session, project_id, flt))
        )
        return walk(project_id, flt, kept=True, few=few)

    def _count_in_project(self, project_id: int, delta: int) -> None:
        self.session.execute(
            update(ProjectRow)
            .where(ProjectRow.id == project_id)
            .values(image_count=ProjectRow.image_count + delta)
        )
