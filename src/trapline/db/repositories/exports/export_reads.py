"""The batched reads an export streams its rows from: a scope's images with their results."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from datetime import date, datetime, time, timedelta
from operator import itemgetter
from typing import Any

from sqlalchemy import String, and_, exists, func, select, type_coerce
from sqlalchemy.orm import Session

from trapline.db.current import current_analyses
from trapline.db.plain import Plain, array_literal
from trapline.db.repositories.core.users import USER_NAME
from trapline.db.repositories.exports.export_statements import (
    OCCURRENCES,
    TOP_COUNTS,
    TOPS,
    annotations_sql,
    occurrence_row,
    of_images,
    shown_row,
    shown_sql,
    span,
    wall_clock,
)
from trapline.db.tables import (
    AlgorithmRow,
    AnalysisRow,
    CategoryMapRow,
    CollectionImageRow,
    IdentificationRow,
    ImageRow,
    JobRow,
    OccurrenceDetectionRow,
    ReviewRow,
    TaskRow,
    UserRow,
)
from trapline.db.types import chunks
from trapline.domain.core.records import ImageFilter
from trapline.domain.exports.exports import ExportFilters
from trapline.domain.exports.facts import (
    AlgorithmFacts,
    AnalysisFacts,
    AnnotationFacts,
    BestDetectionFacts,
    EventFacts,
    IdentificationFacts,
    ImageFacts,
    OccurrenceFacts,
    TopCount,
    TopFacts,
)
from trapline.domain.processing.results import AnalysisStatus

#: A completed analysis's status: the others (failed, open) are no results to choose among.
_COMPLETED = AnalysisStatus.COMPLETED.value

#: Columns of the image facts, in ``ImageFacts`` order.
#: An image's columns as exports read them, in ``ImageFacts`` order; the capture time as the
#: driver answers it (``wall_clock`` reads it: the expression layer's own reading of SQLite's
#: text took a third of the read).
_IMAGE_COLUMNS = (
    ImageRow.id, ImageRow.deployment_id, ImageRow.filename, ImageRow.sha256, ImageRow.width,
    ImageRow.height, ImageRow.content_type, type_coerce(ImageRow.captured_at, String),
    ImageRow.captured_offset_minutes, ImageRow.event_id, ImageRow.file_offset_minutes,
)  # fmt: skip

#: Ids in one ``IN ({among})`` of a read that may have more than a batch's (SQLite takes 32,766
#: parameters).
_AT_ONCE = 5_000
#: An annotation row's image id and id (``ANNOTATIONS``): the order a batch's are taken in.
_IMAGE_AND_ID = itemgetter(2, 0)


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
        """The WHERE terms on the analyses table: the job's, the pipeline's (for the images
        the scope takes, their current results unless the export asks for every run)."""
        terms: list[Any] = []
        if self.filters.job_id is not None:
            terms.append(AnalysisRow.job_id == self.filters.job_id)
        if self.pipeline_ids is not None:
            terms.append(AnalysisRow.pipeline_id.in_(self.pipeline_ids or [-1]))
        return terms


def _any_of(column: str, ids: Sequence[int], plain: Plain) -> str:
    """A condition that ``column`` is one of some ids, written into a statement's text
    (integers only)."""
    if plain.postgres:  # braces are fine here: PostgreSQL's statement is not formatted
        return f"{column} = ANY('{array_literal(ids)}'::bigint[])"
    return f"{column} IN ({', '.join(map(str, map(int, ids)))})"


def _agreed_id(agreed_with: str | None) -> int | None:
    """The identification an identification's ``agreed_with`` names, if it names one."""
    return int(agreed_with) if agreed_with and agreed_with.isdigit() else None


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min)


def _inline(terms: list[Any], plain: Plain) -> str:
    """Conditions as SQL text for a plain statement, each after an ``AND`` ("" for none).

    The scope's conditions on analyses and tasks compare integer ids only (a job's, a
    pipeline's versions'), so their values are written into the text; one definition of the
    scope serves both the expression statements and the plain ones. The text is bracketed:
    a term that is an ``OR`` must not take the statement's other conditions as its own.
    """
    if not terms:
        return ""
    compiled = and_(*terms).compile(dialect=plain.dialect, compile_kwargs={"literal_binds": True})
    return f" AND ({compiled})"


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
        own execution of a statement of columns costs a third more; taken at once, as a
        result iterated row by row fetches each on its own)."""
        rows = self.session.connection().execute(
            select(*_IMAGE_COLUMNS)
            .where(*scope.image_conditions(), ImageRow.id > after_id)
            .order_by(ImageRow.id)
            .limit(limit)
        )
        return [ImageFacts(*r[:7], wall_clock(r[7]), *r[8:]) for r in rows.all()]

    def analyses_of(self, scope: ExportScope, image_ids: Sequence[int]) -> Iterator[AnalysisFacts]:
        """The analyses of these images the scope takes, by image and id.

        Each record is made as the caller takes it (so are annotations'): records of a whole
        batch, made at once, would outlive the garbage collector's young generations, and its
        full collections over them cost a fifth of an export.
        """
        if not image_ids:
            return iter(())
        plain = Plain(self.session)
        terms = scope.analysis_conditions()
        if not scope.filters.all_runs:
            # Current results only (``current.py``), ranked among the batch's span of images.
            low, high = span(image_ids)
            among = (AnalysisRow.image_id >= low, AnalysisRow.image_id <= high)
            current = current_analyses(scope.project_id, *among)
            terms.append(AnalysisRow.id.in_(current) | (AnalysisRow.status != _COMPLETED))
        rows = of_images(  # the scope's conditions written in: see _inline
            plain,
            "SELECT id, image_id, pipeline_id, job_id, status, error, completed_at "
            "FROM analyses WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among})"
            + _inline(terms, plain)
            + " ORDER BY image_id, id",
            image_ids,
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
        rows = of_images(
            plain,
            "SELECT image_id, last_error FROM tasks "  # noqa: S608
            "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}) "
            "AND status = 'failed'" + _inline(scope.task_conditions(), plain),
            image_ids,
        )
        return {image_id: error or "failed" for image_id, error in rows}

    def annotations_of(
        self, image_ids: Sequence[int], analysis_ids: Sequence[int], data: bool = True
    ) -> Iterator[AnnotationFacts]:
        """The annotations of these images by these (completed) analyses, by image and id
        (parents first); ``data`` as JSON text, decoded by those who read it, or None."""
        postgres = Plain(self.session).postgres
        sql = annotations_sql(postgres, data)
        rows = self._of_analyses(sql, "analysis_id", image_ids, analysis_ids)
        if postgres:
            rows.sort(key=_IMAGE_AND_ID)
        return map(AnnotationFacts._make, rows)

    def top_counts_of(
        self, image_ids: Sequence[int], analysis_ids: Sequence[int]
    ) -> Iterator[TopCount]:
        """The detections (by their shape) without a parent of these images made by these
        analyses, counted by image and analysis, with how many are in an occurrence: what
        an export that only counts detections reads (``tops_of`` the few a person
        reviewed)."""
        rows = self._of_analyses(TOP_COUNTS, "a.analysis_id", image_ids, analysis_ids)
        return map(TopCount._make, rows)

    def tops_of(
        self, image_ids: Sequence[int], analysis_ids: Sequence[int], ids: Sequence[int]
    ) -> Iterator[TopFacts]:
        """The annotations without a parent among ``ids`` of these images made by these
        analyses, by image and id, each with its occurrence."""
        if not ids:
            return iter(())
        among = f" AND {_any_of('a.id', ids, Plain(self.session))}"
        rows = self._of_analyses(TOPS, "a.analysis_id", image_ids, analysis_ids, among)
        return map(TopFacts._make, rows)

    def _of_analyses(
        self,
        sql: str,
        column: str,
        image_ids: Sequence[int],
        analysis_ids: Sequence[int],
        also: str = "",
    ) -> list[tuple[Any, ...]]:
        """The rows of a statement on a batch's images, of these analyses only (``column``),
        and on ``also``'s condition.

        The images are the statement's list of parameters; the analyses' ids are written
        into its text (integers only), with a unary plus so that neither database walks the
        analyses' index for them: SQLite took twice as long by it as by the images', and
        the rows of other analyses are left out by the database rather than sent to be
        dropped here (each row sent costs more than the database's look at it).
        """
        if not image_ids or not analysis_ids:
            return []
        plain = Plain(self.session)
        analyses = f" AND {_any_of('+' + column, analysis_ids, plain)}{also}"
        sql = sql.replace("{analyses}", analyses)
        return of_images(plain, sql, image_ids)

    def events_of(self, images: Sequence[ImageFacts]) -> dict[int, EventFacts]:
        """The events of these images, by id."""
        ids = sorted({i.event_id for i in images if i.event_id is not None})
        if not ids:
            return {}
        rows = Plain(self.session).rows(  # a photo a night: a batch of a thousand events
            "SELECT id, deployment_id, starts_at, start_offset_minutes, ends_at, "
            "end_offset_minutes FROM events WHERE id >= ? AND id <= ? AND id IN ({among})",
            span(ids),
            among=ids,
        )
        return {
            i: EventFacts._make(
                (i, deployment, wall_clock(start), start_offset, wall_clock(end), end_offset)
            )
            for i, deployment, start, start_offset, end, end_offset in rows
        }

    def occurrence_of(self, image_ids: Sequence[int]) -> dict[int, int]:
        """The occurrence of each detection of these images that is in one (not one a person
        rejected: it counts nowhere)."""
        if not image_ids:
            return {}
        rows = of_images(  # a link names its detection's photo
            Plain(self.session),
            "SELECT od.annotation_id, od.occurrence_id FROM occurrence_detections od "
            "JOIN occurrences o ON o.id = od.occurrence_id AND o.rejected IS NULL "
            "WHERE od.image_id >= ? AND od.image_id <= ? AND od.image_id IN ({among})",
            image_ids,
        )
        return dict(rows)

    def occurrences_of(self, event_ids: Sequence[int]) -> dict[int, list[OccurrenceFacts]]:
        """The occurrences of these events, by event, in order of id."""
        found: dict[int, list[OccurrenceFacts]] = {}
        for o in self._occurrences("event_id", event_ids):
            found.setdefault(o.event_id, []).append(o)
        return found

    def occurrences_by_id(self, occurrence_ids: Sequence[int]) -> dict[int, OccurrenceFacts]:
        """These occurrences, by id."""
        return {o.id: o for o in self._occurrences("id", occurrence_ids)}

    def _occurrences(self, column: str, values: Sequence[int]) -> list[OccurrenceFacts]:
        """The occurrences whose ``column`` is one of ``values``, in order of id within each
        few thousand values (one statement for a batch's, where a statement of each 900
        through the expression layer took a tenth of a Camtrap DP export on PostgreSQL)."""
        found: list[OccurrenceFacts] = []
        plain = Plain(self.session)
        sql = OCCURRENCES.format(column=column)
        for chunk in chunks(sorted(set(values)), _AT_ONCE):
            found += map(occurrence_row, plain.rows(sql, span(chunk), among=chunk))
        return found

    def occurrences_shown(
        self, image_ids: Sequence[int], pipelines: Collection[str]
    ) -> tuple[dict[int, list[OccurrenceFacts]], dict[int, BestDetectionFacts]]:
        """The occurrences of these pipelines whose best detection is in these images, by
        image (each is read with one image only), and those detections, by occurrence."""
        shown: dict[int, list[OccurrenceFacts]] = {}
        best: dict[int, BestDetectionFacts] = {}
        if not pipelines:
            return shown, best
        plain = Plain(self.session)
        sql = shown_sql(plain.postgres, len(pipelines))
        for row in of_images(plain, sql, image_ids, sorted(pipelines)):
            o, image, best[row[0]] = shown_row(row)
            shown.setdefault(image, []).append(o)
        return shown, best

    def identified(self, occurrence_ids: Sequence[int]) -> dict[int, IdentificationFacts]:
        """The person's word that determines each of these occurrences (those a person
        determined): the latest identification of its detections not withdrawn, with how
        many people identified it, else the latest review of one of them."""
        found: dict[int, IdentificationFacts] = {}
        people: dict[int, set[int]] = {}
        i, od, r = IdentificationRow, OccurrenceDetectionRow, ReviewRow
        for chunk in chunks(sorted(set(occurrence_ids))):
            for occurrence, made_at, person, agreed, user in self.session.execute(
                select(od.occurrence_id, i.created_at, USER_NAME, i.agreed_with, i.user_id)
                .join(od, and_(od.annotation_id == i.annotation_id, od.occurrence_id.in_(chunk)))
                .outerjoin(UserRow, UserRow.id == i.user_id)
                .where(i.withdrawn.is_(False))
                .order_by(i.id)
            ):
                people.setdefault(occurrence, set()).add(user)
                found[occurrence] = IdentificationFacts(
                    occurrence, "identification", made_at, person, agreed
                )
            rest = [o for o in chunk if o not in found]
            for occurrence, made_at, person in self.session.execute(
                select(od.occurrence_id, r.created_at, USER_NAME)
                .join(od, and_(od.annotation_id == r.annotation_id, od.occurrence_id.in_(rest)))
                .outerjoin(UserRow, UserRow.id == r.created_by)
                .order_by(r.id)
            ):
                found[occurrence] = IdentificationFacts(occurrence, "review", made_at, person)
        wanted = sorted({a for f in found.values() if (a := _agreed_id(f.agreed_with))})
        emails = {
            k: email for k, email in self.session.execute(
                select(i.id, UserRow.email).join(UserRow, UserRow.id == i.user_id)
                .where(i.id.in_(wanted))
            )
        } if wanted else {}  # fmt: skip
        return {
            key: f._replace(
                agreed_with_email=emails.get(_agreed_id(f.agreed_with) or 0),
                participants=len(people.get(key, set()) - {None}),
            )
            for key, f in found.items()
        }

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
