"""Which of a project's photos an image filter takes, as statements: the grid's and the API's
listings, and the photos a job over a filter runs on (``repositories/processing/selection.py``),
so that a job takes exactly the photos the grid showed.

A filter by label walks ``photo_labels``, one by detections (with or without) ``photo_findings``,
each down an index in the grid's order (``db/photo_findings.py`` keeps them), joined to the
photos for the rest of the filter, and is counted from that table alone when it asks nothing
else of the photos. A minimum confidence alone walks the photos and looks each one's findings
up by key (within a deployment or a time that bounds the walk), unless it matches few across
the project (then its findings are walked and sorted). So a page costs what
it shows, whatever the project holds. While a project's findings are being worked out again
the filters read the current results themselves (``live_terms``), as they did before findings
were kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, SQLColumnExpression, exists, func, join, select, true
from sqlalchemy.orm import Session

from trapline.db.current import current_analyses
from trapline.db.tables import (
    AnnotationRow,
    CollectionImageRow,
    ImageRow,
    PhotoFindingRow,
    PhotoLabelRow,
    TaskRow,
)
from trapline.domain.core.paging import UNKNOWN_CAPTURE_SORT
from trapline.domain.core.records import ImageFilter
from trapline.domain.processing.results import AnnotationType


@dataclass(frozen=True)
class Walk:
    """What a filtered listing reads from, the columns that order it (the photo's time and id,
    of the table walked) and the conditions the results part of the filter adds. ``table``:
    the findings table walked, whose conditions hold the whole filter when it asks nothing of
    the photos beyond their project, deployment and time (it is then counted alone)."""

    source: Any
    sort: SQLColumnExpression[datetime]
    key: SQLColumnExpression[int]
    terms: list[ColumnElement[bool]] = field(default_factory=list)
    table: Any = None


#: The photos alone, in their own order.
PHOTOS = Walk(ImageRow, ImageRow.captured_sort, ImageRow.id)
#: A minimum confidence alone matching at most this many photos walks the findings (and sorts
#: them); more, and the photos are walked in order, each looked up by key.
FEW = 5_000


def by_results(flt: ImageFilter) -> bool:
    """Whether the filter asks anything of the photos' results."""
    return flt.label is not None or flt.has_detections is not None or flt.min_confidence is not None


def within(flt: ImageFilter) -> bool:
    """Whether the filter keeps to a deployment or a time."""
    return (
        flt.deployment_id is not None
        or flt.captured_after is not None
        or flt.captured_before is not None
    )


def sure_alone(flt: ImageFilter) -> bool:
    """Whether the filter's results part is a minimum confidence alone."""
    return flt.min_confidence is not None and flt.label is None and flt.has_detections is None


def walk(project_id: int, flt: ImageFilter, *, kept: bool, few: bool = False) -> Walk:
    """Where to read the project's photos matching ``flt`` from; ``kept``: whether the
    project's findings hold every photo's current results; ``few``: whether a minimum
    confidence alone matches few photos (``FEW``)."""
    if not by_results(flt):
        return PHOTOS
    if not kept:
        return Walk(ImageRow, ImageRow.captured_sort, ImageRow.id, live_terms(project_id, flt))
    finding = PhotoFindingRow
    if sure_alone(flt) and not few:
        sure = exists().where(
            finding.image_id == ImageRow.id, finding.best_confidence >= flt.min_confidence
        )
        return Walk(ImageRow, ImageRow.captured_sort, ImageRow.id, [sure])
    if flt.label is not None:
        table: Any = PhotoLabelRow
        terms = [table.label == flt.label]
        if flt.min_confidence is not None:
            terms.append(table.confidence >= flt.min_confidence)
        if flt.has_detections is not None:
            detected = exists().where(
                finding.image_id == table.image_id, finding.detected == true()
            )
            terms.append(detected if flt.has_detections else ~detected)
    else:
        table = finding
        scoped = within(flt)
        if flt.has_detections is not None:
            terms = [table.detected == flt.has_detections]
        elif scoped:
            # Always so, but it lets the index by detections, deployment and time narrow the
            # walk to the deployment's or the night's photos (both values in turn).
            terms = [table.detected.in_([False, True])]
        else:
            terms = []
        if flt.min_confidence is not None:
            # Within a deployment or a time the index by confidence (the whole project's) is the
            # wrong one to walk; "+ 0" keeps a database from choosing it.
            sure = table.best_confidence + 0 if scoped else table.best_confidence
            terms.append(sure >= flt.min_confidence)
    # The photo's own conditions again on the table walked, so its index narrows the walk.
    terms.append(table.project_id == project_id)
    if flt.deployment_id is not None:
        terms.append(table.deployment_id == flt.deployment_id)
    if flt.captured_after is not None:
        # The photo's own condition is on its capture time, which an undated photo lacks.
        terms.append(table.captured_sort >= flt.captured_after)
        terms.append(table.captured_sort < UNKNOWN_CAPTURE_SORT)
    if flt.captured_before is not None:
        terms.append(table.captured_sort < flt.captured_before)
    source = join(table, ImageRow, ImageRow.id == table.image_id)
    return Walk(source, table.captured_sort, table.image_id, terms, table)


def counted_alone(walked: Walk, flt: ImageFilter, collection_id: int | None) -> bool:
    """Whether the walked table's own conditions make the whole filter, so that its matches
    are counted without reading the photos."""
    return (
        walked.table is not None
        and not flt.filename_contains
        and flt.job_id is None
        and collection_id is None
    )


def few_sure(session: Session, project_id: int, flt: ImageFilter) -> bool:
    """Whether a minimum confidence alone matches at most ``FEW`` photos (at most that many
    index entries read)."""
    walked = walk(project_id, flt, kept=True, few=True)
    matches = select(walked.table.image_id).where(*walked.terms).limit(FEW + 1).subquery()
    return (session.scalar(select(func.count()).select_from(matches)) or 0) <= FEW


def live_terms(project_id: int, flt: ImageFilter) -> list[ColumnElement[bool]]:
    """The results part of the filter read from the current results themselves: each
    condition a probe of the photo's annotations by index, photo by photo."""
    current = AnnotationRow.analysis_id.in_(current_analyses(project_id))
    terms: list[ColumnElement[bool]] = []
    if flt.has_detections is not None:
        boxes = exists().where(
            AnnotationRow.image_id == ImageRow.id,
            AnnotationRow.type == AnnotationType.BOUNDING_BOX.value,
            current,
        )
        terms.append(boxes if flt.has_detections else ~boxes)
    if flt.label is not None or flt.min_confidence is not None:
        found = [AnnotationRow.image_id == ImageRow.id, current]
        if flt.label is not None:
            found.append(AnnotationRow.label == flt.label)
        if flt.min_confidence is not None:
            found.append(AnnotationRow.confidence >= flt.min_confidence)
        terms.append(exists().where(*found))
    return terms


def filtered(
    query: Select[Any],
    project_id: int,
    flt: ImageFilter,
    collection_id: int | None,
    walked: Walk,
) -> Select[Any]:
    """``query`` over the project's photos ``flt`` takes (of an explicit collection, when
    given), read from where ``walked`` says."""
    query = query.select_from(walked.source).where(*walked.terms)
    # A findings table walked holds the photo's project and deployment: said of the photos
    # again, PostgreSQL's generic plan (a long-running server's, from a statement's sixth run)
    # took the two for independent and expected a few rows, then joined and sorted every
    # match of a deployment (50 ms at 100,000 photos, where the index walk takes 3).
    if walked.table is None:
        query = query.where(ImageRow.project_id == project_id)
        if flt.deployment_id is not None:
            query = query.where(ImageRow.deployment_id == flt.deployment_id)
    # The captured_sort bounds let the sort index narrow the range; the captured_at ones
    # keep out images with no capture time (whose sort key is a far-future stand-in).
    if flt.captured_after is not None:
        query = query.where(
            ImageRow.captured_at >= flt.captured_after,
            ImageRow.captured_sort >= flt.captured_after,
        )
    if flt.captured_before is not None:
        query = query.where(
            ImageRow.captured_at < flt.captured_before,
            ImageRow.captured_sort < flt.captured_before,
        )
    if flt.filename_contains:
        needle = flt.filename_contains.lower()
        for char in ("\\", "%", "_"):
            needle = needle.replace(char, "\\" + char)
        query = query.where(func.lower(ImageRow.filename).like(f"%{needle}%", escape="\\"))
    if flt.job_id is not None:
        query = query.where(
            exists().where(TaskRow.job_id == flt.job_id, TaskRow.image_id == ImageRow.id)
        )
    if collection_id is not None:
        query = query.where(
            ImageRow.id.in_(
                select(CollectionImageRow.image_id).where(
                    CollectionImageRow.collection_id == collection_id
                )
            )
        )
    return query
