"""What a refit reads: the project's identified individuals, each one's detections, the event
each was seen in, and the feature vectors one pipeline posted with them, as 4-byte floats.

Every read is bounded: identifications are walked ``IDENTIFICATION_ROWS`` at a time by id,
detections ``chunks`` at a time, and vectors ``VECTOR_ROWS`` at a time into one matrix
allocated once at its final size.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from trapline.db.repositories.review.crop_boxes import CropBoxRepo
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    IdentificationRow,
    ImageEventRow,
    OccurrenceDetectionRow,
    OccurrenceRow,
    PipelineRow,
)
from trapline.db.types import chunks
from trapline.errors import InvalidInput
from trapline.evaluation.heads import Floats, Ids

#: Identifications read per statement.
IDENTIFICATION_ROWS = 5_000
#: Vectors read per statement (2,048 numbers each: 4 MB).
VECTOR_ROWS = 500


@dataclass(frozen=True, eq=False)
class IdentifiedFeatures:
    """The identified detections that carry a vector of the pipeline, one a row: the
    annotation holding the vector (the box, or its classification), the pipeline's version
    and the vector's length, the taxon people named the individual, the event it was seen in
    (a photo in no event: minus the photo's id), the individual (an occurrence; a detection no
    occurrence holds: minus its id) and the identification naming it."""

    sources: Ids
    versions: Ids
    lengths: Ids
    taxa: Ids
    events: Ids
    individuals: Ids
    identifications: Ids

    def where(self, keep: NDArray[np.bool_]) -> IdentifiedFeatures:
        """Only the rows ``keep`` (a mask) takes."""
        return IdentifiedFeatures(
            self.sources[keep], self.versions[keep], self.lengths[keep], self.taxa[keep],
            self.events[keep], self.individuals[keep], self.identifications[keep],
        )  # fmt: skip


@dataclass(frozen=True)
class _Individual:
    identification_id: int
    taxon_id: int
    annotation_id: int
    occurrence_id: int | None


class RefitExampleRepo:
    """The identified detections of a project and their feature vectors."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def identified(
        self, project_id: int, slug: str, version: int | None, *, crop_length: int | None = None
    ) -> IdentifiedFeatures:
        """The project's identified detections with a vector posted by the pipeline ``slug``
        (of ``version`` only, when given), by row; with ``crop_length``, the identified boxes
        the pipeline drew instead, each its own source, to be described from its crop
        (``crop_length`` numbers; decision 074)."""
        individuals = self._latest(project_id)
        detections = self._detections(individuals)
        if crop_length is None:
            sources = self.vector_sources(sorted(detections), slug, version)
        else:
            drawn = CropBoxRepo(self.session).of_pipeline(sorted(detections), slug, version)
            sources = {box: (box, v, crop_length) for box, v in drawn.items()}
        rows = [
            (source, v, length, individuals[key].taxon_id, event, key,
             individuals[key].identification_id)
            for detection, (source, v, length) in sorted(sources.items())
            for key, event in [detections[detection]]
        ]  # fmt: skip
        columns = list(zip(*rows, strict=True)) if rows else [()] * 7
        return IdentifiedFeatures(*(np.asarray(c, dtype=np.int64) for c in columns))

    def vectors(self, sources: Ids, length: int) -> Floats:
        """The vectors held by ``sources`` (annotation ids), a row each, in their order."""
        matrix = np.empty((len(sources), length), dtype=np.float32)
        for where, block in self.vector_blocks(sources, length):
            matrix[where] = block
        return matrix

    def vector_blocks(self, sources: Ids, length: int) -> Iterator[tuple[Ids, Floats]]:
        """The vectors held by ``sources`` (annotation ids), ``VECTOR_ROWS`` at a time: each
        block with the position in ``sources`` of each of its rows."""
        where = {int(s): n for n, s in enumerate(sources.tolist())}
        for chunk in chunks(sorted(where), VECTOR_ROWS):
            found = self.session.execute(
                select(AnnotationRow.id, AnnotationRow.features).where(AnnotationRow.id.in_(chunk))
            ).all()
            block = np.empty((len(found), length), dtype=np.float32)
            rows = np.empty(len(found), dtype=np.int64)
            for n, (annotation_id, stored) in enumerate(found):
                # Stored little-endian; assigning converts to this machine's order.
                vector = np.frombuffer(stored or b"", dtype="<f4")
                if vector.shape[0] != length:
                    raise InvalidInput(
                        f"features_from: the vector of annotation {annotation_id} changed while "
                        "it was read; refit again",
                        field="features_from",
                    )
                block[n] = vector
                rows[n] = where[int(annotation_id)]
            yield rows, block

    def box_vectors(
        self, boxes: Sequence[int], slug: str, version: int, length: int
    ) -> tuple[list[int], Floats]:
        """The boxes among ``boxes`` with a vector of ``length`` numbers posted by version
        ``version`` of the pipeline ``slug`` (read as a refit reads them: the box's own, else
        its last stored classification's), and those vectors, a row each in the same order."""
        found = self.vector_sources(sorted(set(boxes)), slug, version)
        kept = sorted(box for box, (_, _, size) in found.items() if size == length)
        sources = np.asarray([found[box][0] for box in kept], dtype=np.int64)
        return kept, self.vectors(sources, length)

    def fitted_boxes(self, project_id: int, boxes: Sequence[int], latest: int) -> set[int]:
        """The boxes among ``boxes`` an identification of the project up to ``latest`` (an
        identification id) named, itself or another detection of its individual: those a
        refit fitted on identifications up to ``latest`` may have learnt from."""
        i, od, other = IdentificationRow, OccurrenceDetectionRow, aliased(OccurrenceDetectionRow)
        named = [i.project_id == project_id, i.id <= latest]
        found: set[int] = set()
        for chunk in chunks(sorted(set(boxes))):
            found.update(
                self.session.scalars(
                    select(i.annotation_id).where(i.annotation_id.in_(chunk), *named)
                )
            )
            found.update(
                self.session.scalars(
                    select(od.annotation_id)
                    .join(other, other.occurrence_id == od.occurrence_id)
                    .join(i, i.annotation_id == other.annotation_id)
                    .where(od.annotation_id.in_(chunk), *named)
                )
            )
        return {int(box) for box in found}

    def _latest(self, project_id: int) -> dict[int, _Individual]:
        """Per individual (an occurrence id; a detection no occurrence holds: minus its id),
        its latest identification not withdrawn, when that names a taxon."""
        i = IdentificationRow
        query = (
            select(i.id, i.annotation_id, i.taxon_id, OccurrenceDetectionRow.occurrence_id)
            .outerjoin(
                OccurrenceDetectionRow, OccurrenceDetectionRow.annotation_id == i.annotation_id
            )
            .where(i.project_id == project_id, i.withdrawn.is_(False))
            .order_by(i.id)
            .limit(IDENTIFICATION_ROWS)
        )
        latest: dict[int, _Individual | None] = {}
        after = 0
        while True:
            rows = self.session.execute(query.where(i.id > after)).all()
            for ident, annotation, taxon, occurrence in rows:
                key = int(occurrence) if occurrence is not None else -int(annotation)
                latest[key] = (
                    None  # a rejection: the individual is of no taxon
                    if taxon is None
                    else _Individual(int(ident), int(taxon), int(annotation), occurrence)
                )
            if len(rows) < IDENTIFICATION_ROWS:
                return {key: found for key, found in latest.items() if found is not None}
            after = int(rows[-1][0])

    def _detections(self, individuals: dict[int, _Individual]) -> dict[int, tuple[int, int]]:
        """Per detection of the individuals: its individual and its event."""
        found: dict[int, tuple[int, int]] = {}
        held = sorted(k for k in individuals if k > 0)
        for chunk in chunks(held):
            rows = self.session.execute(
                select(
                    OccurrenceDetectionRow.annotation_id,
                    OccurrenceDetectionRow.occurrence_id,
                    OccurrenceRow.event_id,
                )
                .join(OccurrenceRow, OccurrenceRow.id == OccurrenceDetectionRow.occurrence_id)
                .where(OccurrenceDetectionRow.occurrence_id.in_(chunk))
            )
            for annotation, occurrence, event in rows:
                found[int(annotation)] = (int(occurrence), int(event))
        alone = sorted(-k for k in individuals if k < 0)
        for chunk in chunks(alone):
            rows = self.session.execute(
                select(AnnotationRow.id, AnnotationRow.image_id, ImageEventRow.event_id)
                .outerjoin(ImageEventRow, ImageEventRow.image_id == AnnotationRow.image_id)
                .where(AnnotationRow.id.in_(chunk))
            )
            for annotation, image, event in rows:
                found[int(annotation)] = (-int(annotation), int(event) if event else -int(image))
        return found

    def vector_sources(
        self, detections: Sequence[int], slug: str, version: int | None
    ) -> dict[int, tuple[int, int, int]]:
        """Per detection with a vector of the pipeline: the annotation holding it (the box's
        own, else its last stored classification's), the version and the vector's length."""
        a = AnnotationRow
        where = [a.features.is_not(None), PipelineRow.slug == slug]
        if version is not None:
            where.append(PipelineRow.version == version)
        found: dict[int, tuple[int, int, int]] = {}
        for chunk in chunks(detections):
            for key in (a.parent_id, a.id):  # children first: a box's own vector wins
                rows = self.session.execute(
                    select(key, a.id, PipelineRow.version, func.length(a.features))
                    .join(AnalysisRow, AnalysisRow.id == a.analysis_id)
                    .join(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
                    .where(key.in_(chunk), *where)
                    .order_by(a.id)
                )
                for detection, source, v, size in rows:
                    if size and size % 4 == 0:
                        found[int(detection)] = (int(source), int(v), int(size) // 4)
        return found
