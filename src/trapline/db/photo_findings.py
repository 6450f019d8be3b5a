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

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trapline.db.current import current_analyses
from trapline.db.plain import Plain
from trapline.db.tables import (
    AnalysisRow,
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
    plain = Plain(session)
    # The photos' rows first, in id order: a second transaction storing results of one of them
    # waits here until this one commits, and then reads what it stored.
    projects: dict[int, list[int]] = {}
    lock = " FOR NO KEY UPDATE" if plain.postgres else ""
    for image_id, project_id in plain.rows(_PHOTOS + lock, among=ids):
        projects.setdefault(int(project_id), []).append(int(image_id))
    current = [
        analysis_id
        for project_id, mine in sorted(projects.items())
        for analysis_id in session.scalars(
            current_analyses(project_id, AnalysisRow.image_id.in_(mine))
        )
    ]
    for statement in _FORGET:
        plain.rows(statement, among=ids)
    if current:
        plain.rows(_FINDINGS, (AnnotationType.BOUNDING_BOX.value,), among=current)
        plain.rows(_LABELS, among=current)
    plain.rows(_NOTHING_FOUND, (False,), among=ids)


#: The photos to work out, with their projects.
_PHOTOS = "SELECT id, project_id FROM images WHERE id IN ({among}) ORDER BY id"
_FORGET = (
    "DELETE FROM photo_findings WHERE image_id IN ({among})",
    "DELETE FROM photo_labels WHERE image_id IN ({among})",
)
#: Worked out and written by the database from the current analyses, one statement a table.
_FINDINGS = (
    "INSERT INTO photo_findings (image_id, project_id, deployment_id, captured_sort, detected, "
    "best_confidence) "
    "SELECT a.image_id, i.project_id, i.deployment_id, i.captured_sort, "
    "max(CASE WHEN a.type = ? THEN 1 ELSE 0 END) > 0, max(a.confidence) "
    "FROM annotations a JOIN images i ON i.id = a.image_id WHERE a.analysis_id IN ({among}) "
    "GROUP BY a.image_id, i.project_id, i.deployment_id, i.captured_sort"
)
#: The photos with no current annotation: found without detections.
_NOTHING_FOUND = (
    "INSERT INTO photo_findings (image_id, project_id, deployment_id, captured_sort, detected, "
    "best_confidence) "
    "SELECT i.id, i.project_id, i.deployment_id, i.captured_sort, ?, NULL FROM images i "
    "WHERE i.id IN ({among}) "
    "AND NOT EXISTS (SELECT 1 FROM photo_findings f WHERE f.image_id = i.id)"
)
_LABELS = (
    "INSERT INTO photo_labels (image_id, label, project_id, deployment_id, captured_sort, "
    "confidence) "
    "SELECT a.image_id, a.label, i.project_id, i.deployment_id, i.captured_sort, "
    "max(a.confidence) "
    "FROM annotations a JOIN images i ON i.id = a.image_id "
    "WHERE a.analysis_id IN ({among}) AND a.label IS NOT NULL "
    "GROUP BY a.image_id, a.label, i.project_id, i.deployment_id, i.captured_sort"
)
