"""Keeping ``photo_findings`` and ``photo_labels``: what each photo's current results found.

Every change to which results of a photo are current (results stored, an analysis completed,
its annotations cleared or added) calls ``findings_due`` with the photo, whichever capability
makes it; the photos' rows are worked out again from their current results once, just before
the transaction commits. A change for a whole project (a version pinned or unpinned) marks the
project (``findings_rebuilt_to``) and the findings duty works its photos out again a batch at a
time (``rebuild_step``); until it is done the project's filters read the results themselves.

Working a photo out again locks its row first (PostgreSQL), so two transactions storing results
of one photo take turns, and the second reads what the first stored.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import case, delete, func, insert, select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.processing.current import current_analyses
from trapline.db.tables import (
    AnalysisRow,
    AnnotationRow,
    ImageRow,
    PhotoFindingRow,
    PhotoLabelRow,
    ProjectRow,
)
from trapline.db.types import affected, before_commit
from trapline.domain.processing.results import AnnotationType

#: Where a transaction keeps the photos to work out again before it commits.
_DUE = "trapline.findings_due"
#: Photos worked out in one statement (under SQLite's bound parameter limit).
BATCH = 500


def findings_due(session: Session, image_ids: Iterable[int]) -> None:
    """Which results of these photos are current, or what those hold, changed: work their
    findings out again before the transaction commits."""
    before_commit(session, _DUE, _work_out_due).update(image_ids)


def project_findings_due(session: Session, project_id: int) -> None:
    """Which results are current changed for the whole project: its findings are worked out
    again from the first photo (by the findings duty)."""
    session.execute(
        update(ProjectRow).where(ProjectRow.id == project_id).values(findings_rebuilt_to=0)
    )


def findings_kept(session: Session, project_id: int) -> bool:
    """Whether the project's findings hold every photo's current results (no rebuild under way)."""
    query = select(ProjectRow.findings_rebuilt_to).where(ProjectRow.id == project_id)
    return session.scalar(query) is None


def projects_rebuilding(session: Session) -> list[tuple[int, int]]:
    """(project, photos done up to) of every project whose findings are being worked out again."""
    rows = session.execute(
        select(ProjectRow.id, ProjectRow.findings_rebuilt_to)
        .where(ProjectRow.findings_rebuilt_to.is_not(None))
        .order_by(ProjectRow.id)
    )
    return [(int(p), int(after or 0)) for p, after in rows]


def rebuild_step(session: Session, project_id: int, after: int, limit: int = BATCH) -> int | None:
    """Work out the findings of the project's next ``limit`` photos after id ``after``; the id
    to go on from, or None once every photo is done (the project is then marked done). A project
    marked again since ``after`` was read keeps its mark, which is answered (it starts over)."""
    ids = list(
        session.scalars(
            select(ImageRow.id)
            .where(ImageRow.project_id == project_id, ImageRow.id > after)
            .order_by(ImageRow.id)
            .limit(limit)
        )
    )
    work_out(session, ids)
    reached = ids[-1] if len(ids) == limit else None
    moved = session.execute(
        update(ProjectRow)
        .where(ProjectRow.id == project_id, ProjectRow.findings_rebuilt_to == after)
        .values(findings_rebuilt_to=reached)
    )
    if affected(moved):
        return reached
    # Marked again meanwhile (or finished by another server): go on from where it stands now.
    return session.scalar(select(ProjectRow.findings_rebuilt_to).where(ProjectRow.id == project_id))


def moved_photos(
    session: Session, project_id: int, image_ids: Sequence[int], deployment_id: int | None
) -> None:
    """The project's photos with these ids moved to another deployment (None: none)."""
    for table in (PhotoFindingRow, PhotoLabelRow):
        session.execute(
            update(table)
            .where(table.project_id == project_id, table.image_id.in_(list(image_ids)))
            .values(deployment_id=deployment_id)
        )


def deployment_deleted(session: Session, deployment_id: int) -> None:
    """The deployment is gone: its photos stay, in no deployment."""
    for table in (PhotoFindingRow, PhotoLabelRow):
        session.execute(
            update(table).where(table.deployment_id == deployment_id).values(deployment_id=None)
        )


def work_out(session: Session, image_ids: Iterable[int]) -> None:
    """Work these photos' findings out again from their current results, now."""
    ids = sorted(set(image_ids))
    for start in range(0, len(ids), BATCH):
        _work_out(session, ids[start : start + BATCH])


def _work_out_due(session: Session) -> None:
    work_out(session, session.info.pop(_DUE, ()))


def _work_out(session: Session, ids: list[int]) -> None:
    # The photos' rows first, in id order: a second transaction storing results of one of them
    # waits here until this one commits, and then reads what it stored.
    photos = {
        int(i): (int(p), d, s)
        for i, p, d, s in session.execute(
            select(ImageRow.id, ImageRow.project_id, ImageRow.deployment_id, ImageRow.captured_sort)
            .where(ImageRow.id.in_(ids))
            .order_by(ImageRow.id)
            .with_for_update(key_share=True)
        )
    }
    for table in (PhotoFindingRow, PhotoLabelRow):
        session.execute(delete(table).where(table.image_id.in_(ids)))
    findings: list[dict[str, Any]] = []
    labels: list[dict[str, Any]] = []
    for project_id in sorted({p for p, _, _ in photos.values()}):
        mine = [i for i, (p, _, _) in photos.items() if p == project_id]
        found = _found(session, project_id, mine)
        for image_id in sorted(found):
            _, deployment_id, sort = photos[image_id]
            where = {
                "image_id": image_id,
                "project_id": project_id,
                "deployment_id": deployment_id,
                "captured_sort": sort,
            }
            boxes, best, by_label = found[image_id]
            findings.append({**where, "detected": boxes, "best_confidence": best})
            labels.extend({**where, "label": k, "confidence": v} for k, v in by_label.items())
    if findings:
        session.execute(insert(PhotoFindingRow), findings)
    if labels:
        session.execute(insert(PhotoLabelRow), labels)


#: A photo's findings: whether a current result has a box, the best confidence of any current
#: annotation, and the best confidence of each label (None: the label's annotations have none).
_Found = tuple[bool, float | None, dict[str, float | None]]


def _found(session: Session, project_id: int, image_ids: list[int]) -> dict[int, _Found]:
    a = AnnotationRow
    current = current_analyses(project_id, AnalysisRow.image_id.in_(image_ids))
    is_box = case((a.type == AnnotationType.BOUNDING_BOX.value, 1), else_=0)
    rows = session.execute(
        select(a.image_id, a.label, func.max(a.confidence), func.max(is_box))
        .where(a.analysis_id.in_(current))
        .group_by(a.image_id, a.label)
    )
    found: dict[int, _Found] = {}
    for image_id, label, confidence, box in rows:
        boxes, best, by_label = found.get(int(image_id), (False, None, {}))
        if confidence is not None and (best is None or confidence > best):
            best = float(confidence)
        if label is not None:
            by_label[label] = None if confidence is None else float(confidence)
        found[int(image_id)] = (boxes or bool(box), best, by_label)
    return found
