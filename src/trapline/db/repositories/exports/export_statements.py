"""The plain statements an export's reads run on a batch of images (``export_reads.py``), and
what their rows become: the ids of the batch's images are written ``IN ({among})``
(``Plain.rows``), or left out where the batch's span says as much (``of_images``)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from trapline.db.plain import Plain
from trapline.domain.exports.facts import BestDetectionFacts, OccurrenceFacts

#: Whether a classification says it is the terminal one (``"terminal": true`` in its data,
#: the column ``{data}``), in each database's JSON.
TERMINAL = {
    False: "COALESCE(json_type({data}, '$.terminal') = 'true', 0)",
    True: "COALESCE(({data} -> 'terminal')::text = 'true', false)",
}
#: An occurrence's columns as exports read them, in ``OccurrenceFacts`` order.
OCCURRENCE_COLUMNS = (
    "o.id, o.event_id, o.pipeline, o.label, o.score, o.determined_by, o.taxon_id, "
    "o.identified_by, o.disputed, o.deployment_id, o.first_seen_at, o.first_offset_minutes, "
    "o.last_seen_at, o.last_offset_minutes, o.detection_count, o.best_annotation_id, "
    "COALESCE(o.published_id, o.id)"
)
#: Occurrences of some events (``{column}``: ``event_id``) or by id (``id``), in order of id;
#: those a person rejected count nowhere, so no export reads them.
OCCURRENCES = (
    "SELECT " + OCCURRENCE_COLUMNS + " FROM occurrences o "  # noqa: S608 (our own text)
    "WHERE o.{column} >= ? AND o.{column} <= ? AND o.{column} IN ({{among}}) "
    "AND o.rejected IS NULL ORDER BY o.id"
)
#: Occurrences (of the pipelines ``{pipelines}`` names) with their best detection and its photo
#: (``export_reads._shown`` reads a row), named
#: as tracking names a box (``repositories/ecology/tracking.py``): by the classification that names
#: it (the most confident terminal one, else the most confident; ties: the first stored) when that
#: is terminal or the box has no label of its own, else by the box's own label and score. Read
#: from the tracked detections of the batch's photos (``occurrence_detections.image_id``, a
#: detection's photo): by the photos' annotations, PostgreSQL hashed every occurrence of the
#: database for each batch, and SQLite looked at every annotation of the photos.
SHOWN = (
    "SELECT " + OCCURRENCE_COLUMNS + ", a.image_id, a.x1, a.y1, a.x2, a.y2, "  # noqa: S608
    "CASE WHEN named.id IS NULL THEN a.label ELSE named.label END, "
    "CASE WHEN named.id IS NULL THEN a.confidence ELSE named.confidence END, "
    "CASE WHEN named.id IS NULL THEN a.algorithm_id ELSE named.algorithm_id END "
    "FROM occurrence_detections od "
    "JOIN occurrences o ON o.id = od.occurrence_id AND o.best_annotation_id = od.annotation_id"
    "{pipelines} "
    "JOIN annotations a ON a.id = od.annotation_id "
    "LEFT JOIN annotations named ON named.id = (SELECT k.id FROM annotations k "
    "WHERE k.parent_id = a.id AND k.type = 'classification' AND (a.label IS NULL OR {terminal}) "
    "ORDER BY {terminal} DESC, COALESCE(k.confidence, 0) DESC, k.id LIMIT 1) "
    "WHERE od.image_id >= ? AND od.image_id <= ? AND od.image_id IN ({{among}}) "
    # Tracking links boxes only: the rest is skipped.
    "AND a.type = 'bounding_box' AND o.rejected IS NULL ORDER BY o.id"
)
#: An export's annotations of a batch's images (``annotations_of``), of the analyses
#: ``{analyses}`` names (``export_reads._of_analyses``), each with its data as JSON text where
#: the format reads it (``{data}``) and whether it is a terminal classification
#: (``{terminal}``: the database reads that, where decoding each one's data in Python took a
#: twentieth of a Camtrap DP export). Ordered by image and id on SQLite, whose walk of the
#: images' index gives that order; on PostgreSQL sorted in Python, as its sort of their data
#: spilled to disk (a third of the read's time).
ANNOTATIONS = (
    "SELECT id, analysis_id, image_id, type, label, confidence, x1, y1, x2, y2, "
    "{data}, parent_id, algorithm_id, ordering, {terminal} FROM annotations "
    "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}){analyses}"
)
#: The annotations without a parent of a batch's images, of the analyses ``{analyses}`` names
#: (``tops_of``).
TOPS = (
    "SELECT a.id, a.analysis_id, a.image_id, a.type, a.x1, a.y1, a.x2, a.y2 FROM annotations a "
    "WHERE a.image_id >= ? AND a.image_id <= ? AND a.image_id IN ({among}) "
    "AND a.parent_id IS NULL{analyses} ORDER BY a.image_id, a.id"
)
#: Of the same annotations, those that are detections by their shape (a whole box, or a label
#: of the whole image: ``reader._stands``), counted by image and analysis (``top_counts_of``):
#: handing each row to Python was two thirds of the read, and counting those in an occurrence
#: too (a look-up of each in ``occurrence_detections``) four fifths of the statement on
#: PostgreSQL.
TOP_COUNTS = (
    "SELECT a.image_id, a.analysis_id, COUNT(*) FROM annotations a "
    "WHERE a.image_id >= ? AND a.image_id <= ? AND a.image_id IN ({among}) "
    "AND a.parent_id IS NULL{analyses} AND (a.type = 'classification' OR (a.x1 IS NOT NULL "
    "AND a.y1 IS NOT NULL AND a.x2 IS NOT NULL AND a.y2 IS NOT NULL)) "
    "GROUP BY a.image_id, a.analysis_id ORDER BY a.image_id, a.analysis_id"
)


#: How many annotations (of every run) each of a batch's images has (``annotation_counts``):
#: read from the images' index alone.
ANNOTATION_COUNTS = (
    "SELECT image_id, COUNT(*) FROM annotations "
    "WHERE image_id >= ? AND image_id <= ? AND image_id IN ({among}) GROUP BY image_id"
)


def annotations_sql(postgres: bool, data: bool) -> str:
    """``ANNOTATIONS`` in a database's SQL (its list of analyses still to write in), with each
    annotation's ``data`` or NULL in its place."""
    sql = ANNOTATIONS.replace("{terminal}", TERMINAL[postgres].format(data="data")).replace(
        "{data}", "CAST(data AS TEXT)" if data else "NULL"
    )
    return sql if postgres else sql + " ORDER BY image_id, id"


def shown_sql(postgres: bool, pipelines: int) -> str:
    """``SHOWN`` in a database's SQL, for this many pipelines (their names its first
    parameters)."""
    return SHOWN.format(
        terminal=TERMINAL[postgres].format(data="k.data"),
        pipelines=f" AND o.pipeline IN ({', '.join('?' * pipelines)})",
    )


#: A statement's list of a batch's images (``of_images``).
_ANY_OF_THE_IMAGES = re.compile(r" AND (?:\w+\.)?image_id IN \(\{among\}\)")


def span(ids: Sequence[int]) -> tuple[int, int]:
    """The lowest and highest of some ids: the rows of a batch's images are read with both
    (``image_id >= ? AND image_id <= ? AND image_id IN (...)``), as the span bounds the index
    scan; given only a thousand ids, PostgreSQL reads a small project's whole table."""
    return min(ids), max(ids)


def of_images(
    plain: Plain, sql: str, image_ids: Sequence[int], before: Sequence[Any] = ()
) -> list[tuple[Any, ...]]:
    """The rows a statement on a batch's images answers (``image_id >= ? AND image_id <= ?
    AND image_id IN ({among})``, the column maybe named with its table; ``before``: the
    values of the parameters ahead of those). A batch whose ids run without a gap (a whole
    project's, or a deployment's most of the time) is read by its span alone: no other image's
    id is in it, and the list cost each statement a fifth more.
    """
    low, high = span(image_ids)
    if high - low + 1 == len(set(image_ids)):
        return plain.rows(_ANY_OF_THE_IMAGES.sub("", sql), (*before, low, high))
    return plain.rows(sql, (*before, low, high), among=image_ids)


def annotation_counts(plain: Plain, image_ids: Sequence[int]) -> dict[int, int]:
    """How many annotations, of every run, each of these images has (those without: none)."""
    return dict(of_images(plain, ANNOTATION_COUNTS, image_ids))


def occurrence_row(row: Sequence[Any]) -> OccurrenceFacts:
    """An occurrence from its columns (``OCCURRENCE_COLUMNS``) as the driver answers them."""
    when = (wall_clock(row[10]), row[11], wall_clock(row[12]))
    return OccurrenceFacts._make((*row[:8], bool(row[8]), row[9], *when, *row[13:17]))


def shown_row(row: Sequence[Any]) -> tuple[OccurrenceFacts, int, BestDetectionFacts]:
    """A row of ``SHOWN``: the occurrence, the image of its best detection, and that."""
    best = BestDetectionFacts._make((row[15], *row[17:25]))
    return occurrence_row(row), row[17], best


def wall_clock(value: Any) -> datetime | None:
    """A wall-clock column's value as the driver answers it (SQLite: text)."""
    return datetime.fromisoformat(value) if isinstance(value, str) else value
