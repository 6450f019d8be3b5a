"""What a model version found on an evaluation set's photos: its latest completed run on each
photo, and that run's boxes named as counting names them (``domain/ecology/naming.py``), with
the ranked labels of the classification naming each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trapline.db.run_threshold import RUN_THRESHOLD, with_run_rows
from trapline.db.tables import AnalysisRow, AnnotationRow
from trapline.db.types import chunks
from trapline.domain.ecology.naming import Said, name_box
from trapline.domain.ecology.occurrences import no_object
from trapline.domain.processing.results import AnalysisStatus, AnnotationType

#: Classifications read per statement (each one's JSON is read whole).
CLASSIFICATION_ROWS = 200


@dataclass(frozen=True)
class VersionBox:
    """A box a version found and counts (at its threshold, no stage saying there is nothing):
    how sure, its name, and the labels of the classification naming it, surest first."""

    image_id: int
    rect: tuple[float, float, float, float]
    score: float
    label: str | None
    ranked: tuple[str, ...]
    #: The box (an annotation) itself.
    annotation_id: int


@dataclass(frozen=True)
class _Class:
    label: str | None
    score: float | None
    terminal: bool
    ranked: tuple[str, ...]


class EvaluationBoxRepo:
    """A version's boxes on some photos."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def found(
        self,
        pipeline_id: int,
        image_ids: Sequence[int],
        hidden: frozenset[str],
    ) -> tuple[set[int], list[VersionBox]]:
        """The photos the version ran on (a completed run), and the boxes it counts there
        (none under its run's threshold: ``run_threshold.py``)."""
        runs = self.session.execute(
            select(func.max(AnalysisRow.id).label("id"), AnalysisRow.image_id)
            .where(
                AnalysisRow.image_id.in_(list(image_ids)),
                AnalysisRow.pipeline_id == pipeline_id,
                AnalysisRow.status == AnalysisStatus.COMPLETED.value,
            )
            .group_by(AnalysisRow.image_id)
        ).all()
        seen = {int(image) for _, image in runs}
        if not runs:
            return seen, []
        a = AnnotationRow
        boxes = self.session.execute(
            with_run_rows(
                select(a.id, a.image_id, a.x1, a.y1, a.x2, a.y2, a.label, a.confidence).join(
                    AnalysisRow, AnalysisRow.id == a.analysis_id
                )
            )
            .add_columns(RUN_THRESHOLD)
            .where(
                a.analysis_id.in_([int(run) for run, _ in runs]),
                a.type == AnnotationType.BOUNDING_BOX.value,
                a.x1.is_not(None),
            )
            .order_by(a.image_id, a.id)
        ).all()
        classes = self._classifications([int(row[0]) for row in boxes])
        found = []
        for aid, image, x1, y1, x2, y2, label, confidence, threshold in boxes:
            said = classes.get(int(aid), [])
            named = name_box(
                Said(label, confidence), [Said(c.label, c.score, c.terminal) for c in said], hidden
            )
            score = confidence if confidence is not None else named.score
            if named.rejected or no_object(named.label, hidden):
                continue
            if threshold is not None and score is not None and score < threshold:
                continue
            chosen = said[named.chosen] if named.chosen is not None else None
            ranked = chosen.ranked if chosen is not None else ()
            found.append(
                VersionBox(
                    int(image),
                    (float(x1 or 0), float(y1 or 0), float(x2 or 0), float(y2 or 0)),
                    float(score) if score is not None else 1.0,
                    named.label,
                    ranked or ((named.label,) if named.label else ()),
                    int(aid),
                )
            )
        return seen, found

    def _classifications(self, box_ids: Sequence[int]) -> dict[int, list[_Class]]:
        """Per box, its classifications in the order stored."""
        found: dict[int, list[_Class]] = {}
        a = AnnotationRow
        for chunk in chunks(box_ids, CLASSIFICATION_ROWS):
            rows = self.session.execute(
                select(a.parent_id, a.label, a.confidence, a.data)
                .where(a.parent_id.in_(chunk), a.type == AnnotationType.CLASSIFICATION.value)
                .order_by(a.id)
            )
            for parent, label, confidence, data in rows:
                terminal = (data or {}).get("terminal") is True
                found.setdefault(int(parent), []).append(
                    _Class(label, confidence, terminal, _ranked(data))
                )
        return found


def _ranked(data: dict[str, Any] | None) -> tuple[str, ...]:
    """A classification's labels, surest first, when it ranks several (``data.labels`` with
    ``data.scores`` beside them)."""
    labels = (data or {}).get("labels")
    scores = (data or {}).get("scores")
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return ()
    if not isinstance(scores, list) or len(scores) != len(labels):
        return tuple(labels)
    if all(isinstance(s, int | float) and not isinstance(s, bool) for s in scores):
        order = sorted(range(len(labels)), key=lambda n: -float(scores[n]))
        return tuple(labels[n] for n in order)
    return tuple(labels)
