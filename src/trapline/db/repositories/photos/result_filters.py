"""The image listings' filters by what current results found: where a filtered listing reads.

A filter by label walks ``photo_labels``, one by "with detections" walks ``photo_findings``,
each down an index in the grid's order (``db/photo_findings.py`` keeps them), joined to the
photos for the rest of the filter; "without detections" and a minimum confidence alone walk the
photos and look each one's findings up by key. So a page costs what it shows, whatever the
project holds. While a project's findings are being worked out again the filters read the
current results themselves (``live_terms``), as they did before findings were kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, SQLColumnExpression, exists, join, true

from trapline.db.repositories.processing.current import current_analyses
from trapline.db.tables import AnnotationRow, ImageRow, PhotoFindingRow, PhotoLabelRow
from trapline.domain.core.records import ImageFilter
from trapline.domain.processing.results import AnnotationType


@dataclass(frozen=True)
class Walk:
    """What a filtered listing reads from, the columns that order it (the photo's time and id,
    of the table walked) and the conditions the results part of the filter adds."""

    source: Any
    sort: SQLColumnExpression[datetime]
    key: SQLColumnExpression[int]
    terms: list[ColumnElement[bool]] = field(default_factory=list)


#: The photos alone, in their own order.
PHOTOS = Walk(ImageRow, ImageRow.captured_sort, ImageRow.id)


def by_results(flt: ImageFilter) -> bool:
    """Whether the filter asks anything of the photos' results."""
    return flt.label is not None or flt.has_detections is not None or flt.min_confidence is not None


def walk(project_id: int, flt: ImageFilter, *, kept: bool) -> Walk:
    """Where to read the project's photos matching ``flt`` from; ``kept``: whether the
    project's findings hold every photo's current results."""
    if not by_results(flt):
        return PHOTOS
    if not kept:
        return Walk(ImageRow, ImageRow.captured_sort, ImageRow.id, live_terms(project_id, flt))
    finding = PhotoFindingRow
    if flt.label is not None:
        table: Any = PhotoLabelRow
        terms = [table.label == flt.label]
        if flt.min_confidence is not None:
            terms.append(table.confidence >= flt.min_confidence)
        if flt.has_detections is not None:
            terms.append(_detected() if flt.has_detections else ~_detected())
    elif flt.has_detections:
        table = finding
        terms = [table.detected == true()]
        if flt.min_confidence is not None:
            terms.append(table.best_confidence >= flt.min_confidence)
    else:
        terms = [] if flt.has_detections is None else [~_detected()]
        if flt.min_confidence is not None:
            terms.append(
                exists().where(
                    finding.image_id == ImageRow.id,
                    finding.best_confidence >= flt.min_confidence,
                )
            )
        return Walk(ImageRow, ImageRow.captured_sort, ImageRow.id, terms)
    # The photo's own conditions again on the table walked, so its index narrows the walk.
    terms.append(table.project_id == project_id)
    if flt.deployment_id is not None:
        terms.append(table.deployment_id == flt.deployment_id)
    if flt.captured_after is not None:
        terms.append(table.captured_sort >= flt.captured_after)
    if flt.captured_before is not None:
        terms.append(table.captured_sort < flt.captured_before)
    source = join(table, ImageRow, ImageRow.id == table.image_id)
    return Walk(source, table.captured_sort, table.image_id, terms)


def without_detections_alone(flt: ImageFilter) -> bool:
    """Whether the filter is "without detections" within a deployment and time at most, whose
    count is the photos' less those with detections (two index counts)."""
    return (
        flt.has_detections is False
        and flt.label is None
        and flt.min_confidence is None
        and not flt.filename_contains
        and flt.job_id is None
    )


def _detected() -> ColumnElement[bool]:
    finding = PhotoFindingRow
    return exists().where(finding.image_id == ImageRow.id, finding.detected == true())


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
