"""Reviews as counting takes them: a box's own latest review, else the one its earlier
results' reviewed boxes hand on to it (``domain/ecology/succession.carried_reviews``).

A review stays on the box it judged; new results of the same pipeline on the photo (a re-run,
a new version) make a successor that counts as reviewed the same way until someone reviews
it. Worked out whenever the boxes are read for counting, from the reviews themselves, so it
holds through any number of re-runs, for a box a person rejected (which no occurrence holds)
as for one they relabelled.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.current import RESULTS_OF
from trapline.db.tables import AnalysisRow, AnnotationRow, PipelineRow, ReviewRow
from trapline.db.types import chunks
from trapline.domain.ecology.reviews import Verdict
from trapline.domain.ecology.succession import Placed, Reviewed, carried_reviews

#: A review as counting reads it: its id, verdict and label.
ReviewMark = tuple[int, Verdict, str | None]


def latest_reviews(session: Session, box_ids: Sequence[int]) -> dict[int, ReviewMark]:
    """Each of these boxes' own latest review."""
    latest: dict[int, ReviewMark] = {}
    for chunk in chunks(box_ids):
        rows = session.execute(
            select(ReviewRow.annotation_id, ReviewRow.id, ReviewRow.verdict, ReviewRow.label)
            .where(ReviewRow.annotation_id.in_(chunk))
            .order_by(ReviewRow.id)
        )
        for annotation_id, review_id, verdict, label in rows:
            if annotation_id is not None:
                latest[int(annotation_id)] = (int(review_id), Verdict(verdict), label)
    return latest


def counted_reviews(session: Session, current: Sequence[Placed]) -> dict[int, ReviewMark]:
    """The review each of these current boxes counts with (all the current boxes of their
    photos): its own latest, else the latest one handed on to it by a reviewed box of
    earlier results on its photo."""
    own = latest_reviews(session, [p.id for p in current])
    now = {p.id for p in current}
    earlier: dict[int, tuple[Reviewed, ReviewMark]] = {}
    for chunk in chunks(sorted({p.image_id for p in current})):
        rows = session.execute(
            select(
                ReviewRow.id,
                ReviewRow.verdict,
                ReviewRow.label,
                AnnotationRow.id,
                AnnotationRow.image_id,
                AnnotationRow.analysis_id,
                AnnotationRow.x1,
                AnnotationRow.y1,
                AnnotationRow.x2,
                AnnotationRow.y2,
                RESULTS_OF,
            )
            .join(AnnotationRow, AnnotationRow.id == ReviewRow.annotation_id)
            .join(AnalysisRow, AnalysisRow.id == AnnotationRow.analysis_id)
            .outerjoin(PipelineRow, PipelineRow.id == AnalysisRow.pipeline_id)
            .where(ReviewRow.image_id.in_(chunk), AnnotationRow.x1.is_not(None))
            .order_by(ReviewRow.id)
        )
        for review_id, verdict, label, aid, image_id, run, x1, y1, x2, y2, pipeline in rows:
            if int(aid) in now:
                continue
            box = (float(x1 or 0), float(y1 or 0), float(x2 or 0), float(y2 or 0))
            placed = Placed(int(aid), int(image_id), str(pipeline), box)
            mark = (int(review_id), Verdict(verdict), label)
            earlier[int(aid)] = (Reviewed(placed, int(run), int(review_id)), mark)
    if not earlier:
        return own
    marks = {review.review_id: mark for review, mark in earlier.values()}
    handed = carried_reviews([review for review, _ in earlier.values()], current)
    return {**{i: marks[r] for i, r in handed.items()}, **own}
