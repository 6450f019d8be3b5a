"""Exports: their records, and the batched reads an export streams its rows from."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, func, select, update
from sqlalchemy.orm import Session

from trapline.db.plain import Plain
from trapline.db.tables import (
    AlgorithmRow,
    AnalysisRow,
    CategoryMapRow,
    CollectionImageRow,
    ExportRow,
    ImageRow,
    JobRow,
    PipelineRow,
    TaskRow,
)
from trapline.db.types import affected
from trapline.domain.exports import (
    AlgorithmFacts,
    AnalysisFacts,
    AnnotationFacts,
    Export,
    ExportFilters,
    ExportFormat,
    ExportStatus,
    ImageFacts,
    PipelineFacts,
)
from trapline.domain.records import ImageFilter

_RUNNING = ExportStatus.RUNNING.value


def to_export(row: ExportRow) -> Export:
    """Record from a row."""
    return Export(
        id=row.id,
        project_id=row.project_id,
        format=ExportFormat(row.format),
        filters=ExportFilters.from_json(row.filters),
        status=ExportStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        expires_at=row.expires_at,
        images_total=row.images_total,
        images_done=row.images_done,
        counts=dict(row.counts or {}),
        errors=list(row.errors or []),
        error=row.error,
        blob_key=row.blob_key,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
    )


class ExportRepo:
    """Export records and their life cycle; every change of a running export names its runner."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, project_id: int, fmt: ExportFormat, filters: ExportFilters, created_by: int | None
    ) -> Export:
        """A new queued export."""
        row = ExportRow(
            project_id=project_id,
            format=fmt.value,
            filters=filters.as_json(),
            status=ExportStatus.QUEUED.value,
            created_by=created_by,
            attempts=0,
            images_done=0,
            counts={},
            errors=[],
        )
        self.session.add(row)
        self.session.flush()
        return to_export(row)

    def get(self, export_id: int) -> Export | None:
        """The export with this id."""
        row = self.session.get(ExportRow, export_id)
        return to_export(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[Export]]:
        """A project's exports, newest first."""
        where = ExportRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(ExportRow).where(where).order_by(ExportRow.id.desc()).limit(limit).offset(offset)
        )
        return total, [to_export(r) for r in rows]

    def any_to_tend(self, now: datetime) -> bool:
        """Whether any export is queued, running or past its expiry (the duty's first look)."""
        found = self.session.scalar(
            select(ExportRow.id)
            .where(
                ExportRow.status.in_([ExportStatus.QUEUED.value, _RUNNING])
                | (
                    (ExportRow.status == ExportStatus.SUCCEEDED.value)
                    & (ExportRow.expires_at < now)
                )
            )
            .limit(1)
        )
        return found is not None

    def claimable(self, stale_before: datetime, *, limit: int = 10) -> list[int]:
        """Queued exports, and running ones whose runner has gone silent, oldest first."""
        return list(
            self.session.scalars(
                select(ExportRow.id)
                .where(
                    (ExportRow.status == ExportStatus.QUEUED.value)
                    | ((ExportRow.status == _RUNNING) & (ExportRow.heartbeat_at < stale_before))
                )
                .order_by(ExportRow.id)
                .limit(limit)
            )
        )

    def claim(
        self, export_id: int, runner: str, now: datetime, stale_before: datetime, max_attempts: int
    ) -> bool:
        """Take the export to run it: queued, or running under a silent runner; one try more."""
        result = self.session.execute(
            update(ExportRow)
            .where(
                ExportRow.id == export_id,
                (ExportRow.status == ExportStatus.QUEUED.value)
                | ((ExportRow.status == _RUNNING) & (ExportRow.heartbeat_at < stale_before)),
                ExportRow.attempts < max_attempts,
            )
            .values(
                status=_RUNNING,
                runner=runner,
                heartbeat_at=now,
                attempts=ExportRow.attempts + 1,
                started_at=func.coalesce(ExportRow.started_at, now),
                images_done=0,
                images_total=None,
                counts={},
                errors=[],
            )
        )
        return affected(result) == 1

    def fail_exhausted(self, stale_before: datetime, max_attempts: int, now: datetime) -> int:
        """Fail exports whose runners died ``max_attempts`` times (the export may be the cause)."""
        result = self.session.execute(
            update(ExportRow)
            .where(
                ExportRow.status == _RUNNING,
                ExportRow.heartbeat_at < stale_before,
                ExportRow.attempts >= max_attempts,
            )
            .values(
                status=ExportStatus.FAILED.value,
                finished_at=now,
                error=f"the server running this export stopped {max_attempts} times; "
                "create the export again, with narrower filters if it is large",
            )
        )
        return affected(result)

    def progress(
        self,
        export_id: int,
        runner: str,
        now: datetime,
        *,
        images_total: int | None = None,
        images_done: int,
        counts: dict[str, int],
        errors: list[str],
    ) -> bool:
        """Record progress; False when the export is no longer this runner's to run
        (canceled, deleted, or taken over), so the runner stops."""
        values: dict[str, Any] = {
            "heartbeat_at": now,
            "images_done": images_done,
            "counts": counts,
            "errors": errors,
        }
        if images_total is not None:
            values["images_total"] = images_total
        return self._own(export_id, runner, values)

    def heartbeat(self, export_id: int, runner: str, now: datetime) -> bool:
        """Say the runner is alive; False when the export is no longer its."""
        return self._own(export_id, runner, {"heartbeat_at": now})

    def finish(
        self,
        export_id: int,
        runner: str,
        now: datetime,
        *,
        blob_key: str,
        file_name: str,
        size_bytes: int,
        expires_at: datetime,
        images_done: int,
        counts: dict[str, int],
        errors: list[str],
    ) -> bool:
        """Mark the export done with its file; False when it was no longer this runner's."""
        return self._own(
            export_id,
            runner,
            {
                "status": ExportStatus.SUCCEEDED.value,
                "finished_at": now,
                "heartbeat_at": now,
                "blob_key": blob_key,
                "file_name": file_name,
                "size_bytes": size_bytes,
                "expires_at": expires_at,
                "images_done": images_done,
                "counts": counts,
                "errors": errors,
            },
        )

    def fail(self, export_id: int, runner: str, now: datetime, error: str) -> bool:
        """Mark the export failed, saying why."""
        return self._own(
            export_id,
            runner,
            {"status": ExportStatus.FAILED.value, "finished_at": now, "error": error[:2000]},
        )

    def release(self, export_id: int, runner: str) -> bool:
        """Hand a running export back to the queue (its server is stopping)."""
        return self._own(export_id, runner, {"status": ExportStatus.QUEUED.value, "runner": None})

    def cancel(self, export_id: int, now: datetime) -> bool:
        """Cancel a queued or running export; False when it had finished already."""
        result = self.session.execute(
            update(ExportRow)
            .where(
                ExportRow.id == export_id,
                ExportRow.status.in_([ExportStatus.QUEUED.value, _RUNNING]),
            )
            .values(status=ExportStatus.CANCELED.value, finished_at=now)
        )
        return affected(result) == 1

    def delete(self, export_id: int) -> None:
        """Remove the record (the caller removes the file)."""
        self.session.execute(delete(ExportRow).where(ExportRow.id == export_id))

    def expired(self, now: datetime, *, limit: int = 100) -> list[tuple[int, str | None]]:
        """Finished exports past their expiry that still have a file: (id, blob key)."""
        rows = self.session.execute(
            select(ExportRow.id, ExportRow.blob_key)
            .where(ExportRow.status == ExportStatus.SUCCEEDED.value, ExportRow.expires_at < now)
            .order_by(ExportRow.id)
            .limit(limit)
        )
        return [(r.id, r.blob_key) for r in rows]

    def mark_expired(self, export_id: int) -> None:
        """The export's file is gone."""
        self.session.execute(
            update(ExportRow)
            .where(ExportRow.id == export_id, ExportRow.status == ExportStatus.SUCCEEDED.value)
            .values(status=ExportStatus.EXPIRED.value, blob_key=None)
        )

    def _own(self, export_id: int, runner: str, values: dict[str, Any]) -> bool:
        result = self.session.execute(
            update(ExportRow)
            .where(
                ExportRow.id == export_id,
                ExportRow.status == _RUNNING,
                ExportRow.runner == runner,
            )
            .values(**values)
        )
        return affected(result) == 1


#: Columns of the image facts, in ``ImageFacts`` order.
_IMAGE_COLUMNS = (
    ImageRow.id,
    ImageRow.deployment_id,
    ImageRow.filename,
    ImageRow.sha256,
    ImageRow.width,
    ImageRow.height,
    ImageRow.content_type,
    ImageRow.captured_at,
    ImageRow.captured_offset_minutes,
)


class ExportScope:
    """Which images and analyses of a project an export reads, as SQL conditions.

    ``collection_id`` is an explicit collection's; a saved-filter collection arrives as
    ``collection_filter``. ``pipeline_ids`` are the versions the pipeline filter names.
    """

    def __init__(
        self,
        project_id: int,
        filters: ExportFilters,
        *,
        pipeline_ids: Sequence[int] | None,
        collection_id: int | None,
        collection_filter: ImageFilter | None,
        max_image_id: int,
    ) -> None:
        self.project_id = project_id
        self.filters = filters
        self.pipeline_ids = list(pipeline_ids) if pipeline_ids is not None else None
        self.collection_id = collection_id
        self.collection_filter = collection_filter
        #: Images added after the export started are left out: it describes one moment.
        self.max_image_id = max_image_id

    def image_conditions(self) -> list[Any]:
        """The WHERE terms on the images table."""
        f = self.filters
        terms: list[Any] = [
            ImageRow.project_id == self.project_id,
            ImageRow.id <= self.max_image_id,
        ]
        if f.deployment_id is not None:
            terms.append(ImageRow.deployment_id == f.deployment_id)
        if f.date_from is not None:
            terms.append(ImageRow.captured_at >= _start_of(f.date_from))
        if f.date_to is not None and f.date_to < date.max:
            terms.append(ImageRow.captured_at < _start_of(f.date_to + timedelta(days=1)))
        if self.collection_id is not None:
            terms.append(
                exists().where(
                    CollectionImageRow.collection_id == self.collection_id,
                    CollectionImageRow.image_id == ImageRow.id,
                )
            )
        saved = self.collection_filter
        if saved is not None:
            if saved.deployment_id is not None:
                terms.append(ImageRow.deployment_id == saved.deployment_id)
            if saved.captured_after is not None:
                terms.append(ImageRow.captured_at >= saved.captured_after)
            if saved.captured_before is not None:
                terms.append(ImageRow.captured_at < saved.captured_before)
            if saved.filename_contains:
                terms.append(ImageRow.filename.contains(saved.filename_contains, autoescape=True))
        if f.narrows_analyses:  # the images the job (or the pipeline's jobs) took
            terms.append(
                exists().where(AnalysisRow.image_id == ImageRow.id, *self.analysis_conditions())
                | exists().where(TaskRow.image_id == ImageRow.id, *self.task_conditions())
            )
        return terms

    def task_conditions(self) -> list[Any]:
        """The WHERE terms on the tasks table: those of the scope's jobs."""
        terms: list[Any] = []
        if self.filters.job_id is not None:
            terms.append(TaskRow.job_id == self.filters.job_id)
        if self.pipeline_ids is not None:
            terms.append(
                TaskRow.job_id.in_(
                    select(JobRow.id).where(JobRow.pipeline_id.in_(self.pipeline_ids or [-1]))
                )
            )
        return terms

    def analysis_conditions(self) -> list[Any]:
        terms: list[Any] = []
        if self.filters.job_id is not None:
            terms.append(AnalysisRow.job_id == self.filters.job_id)
        if self.pipeline_ids is not None:
            terms.append(AnalysisRow.pipeline_id.in_(self.pipeline_ids or [-1]))
        return terms


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _span(ids: Sequence[int]) -> tuple[int, int]:
    """The lowest and highest of some ids: the rows of a batch's images are read with both
    (``image_id >= ? AND image_id <= ? AND image_id IN (...)``), as the span bounds the index
    scan; given only a thousand ids, PostgreSQL reads a small project's whole table."""
    return min(ids), max(ids)


def _inline(terms: list[Any], plain: Plain) -> str:
    """Conditions as SQL text for a plain statement, each after an ``AND`` ("" for none).

    The scope's conditions on analyses and tasks compare integer ids only (a job's, a
    pipeline's versions'), so their values are written into the text; one definition of the
    scope serves both the expression statements and the plain ones.
    """
    if not terms:
        return ""
    compiled = and_(*terms).compile(dialect=plain.dialect, compile_kwargs={"literal_binds": True})
    return f" AND {compiled}"


class ExportReadRepo:
    """The reads of a running export: each a short statement over one batch of images."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def max_image_id(self, project_id: int) -> int:
        """The project's newest image id (0 when it has none)."""
        found = self.session.scalar(
            select(func.max(ImageRow.id)).where(ImageRow.project_id == project_id)
        )
        return int(found or 0)

    def count_images(self, scope: ExportScope) -> int:
        """How many images the export takes."""
        return self.session.scalar(select(func.count()).where(*scope.image_conditions())) or 0

    def images_after(self, scope: ExportScope, after_id: int, limit: int) -> list[ImageFacts]:
        """The next images of the scope by id (on the session's connection: an ORM session's
        own execution of a statement of columns costs a third more)."""
        rows = self.session.connection().execute(
            select(*_IMAGE_COLUMNS)
            .where(*scope.image_conditions(), ImageRow.id > after_id)
            .order_by(ImageRow.id)
            .limit(limit)
        )
        return list(map(ImageFacts._make, rows))

    def analyses_of(self, scope: ExportScope, image_ids: Sequence[int]) -> Iterator[AnalysisFacts]:
        """The analyses of these images the scope takes, by image and id.

        Each record is made as the caller takes it (so are annotations'): records of a whole
        batch, made at once, would outlive the garbage collector's young generations, and its
        full collections over them cost a fifth of an export.
        """
        if not image_ids:
            return iter(())
        plain = Plain(self.session)
        rows = plain.rows(  # the scope's conditions written in: see _inline
            "SELECT id, image_id, pipeline_id, job_id, status, error, completed_at "
            "FROM analyses WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among})"
            + _inline(scope.analysis_conditions(), plain)
            + " ORDER BY image_id, id",
            _span(image_ids),
            among=image_ids,
        )
        instant = plain.instant
        return (
            AnalysisFacts(id, image, pipeline, job, status, error, instant(completed))
            for id, image, pipeline, job, status, error, completed in rows
        )

    def failures_of(self, scope: ExportScope, image_ids: Sequence[int]) -> dict[int, str]:
        """Why tasks of these images failed for good, by image (the scope's jobs only)."""
        if not image_ids:
            return {}
        plain = Plain(self.session)
        rows = plain.rows(
            "SELECT image_id, last_error FROM tasks "  # noqa: S608
            "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}) "
            "AND status = 'failed'" + _inline(scope.task_conditions(), plain),
            _span(image_ids),
            among=image_ids,
        )
        return {image_id: error or "failed" for image_id, error in rows}

    def annotations_of(self, image_ids: Sequence[int]) -> Iterator[AnnotationFacts]:
        """The annotations of these images, by image and id (parents before children), of
        every analysis (the caller takes those of the analyses it takes); ``data`` as JSON
        text (most writers never read it: decoding it for every row was a third of an
        export)."""
        if not image_ids:
            return iter(())
        rows = Plain(self.session).rows(
            "SELECT id, analysis_id, image_id, type, label, confidence, x1, y1, x2, y2, "
            "CAST(data AS TEXT), parent_id, algorithm_id, ordering FROM annotations "
            "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}) "
            "ORDER BY image_id, id",
            _span(image_ids),
            among=image_ids,
        )
        return map(AnnotationFacts._make, rows)

    def algorithms(self, project_id: int) -> dict[int, AlgorithmFacts]:
        """The project's algorithms with their category maps."""
        rows = self.session.execute(
            select(AlgorithmRow, CategoryMapRow.labels, CategoryMapRow.data)
            .outerjoin(CategoryMapRow, CategoryMapRow.id == AlgorithmRow.category_map_id)
            .where(AlgorithmRow.project_id == project_id)
        )
        return {
            a.id: AlgorithmFacts(
                a.id, a.key, a.name, a.version, tuple(labels or ()), tuple(data or ())
            )
            for a, labels, data in rows
        }

    def pipelines(self, project_id: int) -> dict[int, PipelineFacts]:
        """The project's pipeline versions."""
        rows = self.session.execute(
            select(PipelineRow.id, PipelineRow.slug, PipelineRow.version, PipelineRow.name).where(
                PipelineRow.project_id == project_id
            )
        )
        return {r.id: PipelineFacts(r.id, r.slug, r.version, r.name) for r in rows}
