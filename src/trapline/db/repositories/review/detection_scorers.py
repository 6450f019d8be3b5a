"""Detection scorers refitted from box reviews: queued, claimed under a lease, fitted or failed
(runs: ``db/leased_rows.py``), and what one reads: the project's reviewed photos, each with the
boxes people confirmed, rejected or drew on it, its file and its night."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trapline.db.leased_rows import STEPPED_RUN_ATTEMPTS, LeasedRows
from trapline.db.repositories.core.users import USER_NAME
from trapline.db.repositories.review.evaluation_sets import EvaluationSetRepo
from trapline.db.tables import DetectionScorerRow, ImageEventRow, ImageRow, ReviewRow, UserRow
from trapline.db.types import BIGINT_MAX
from trapline.evaluation.detection_scorers import DetectionScorer
from trapline.evaluation.fits import FitStatus
from trapline.evaluation.metrics import Rect
from trapline.evaluation.sets import ItemKind

#: Scorers are runs: claimed by a server, kept by its heartbeat, handed back or failed.
_RUNS = LeasedRows(
    DetectionScorerRow.id,
    DetectionScorerRow.runner,
    DetectionScorerRow.heartbeat_at,
    status=DetectionScorerRow.status,
    attempts=DetectionScorerRow.attempts,
    max_attempts=STEPPED_RUN_ATTEMPTS,
    running=FitStatus.FITTING.value,
)


@dataclass(frozen=True)
class PhotoReviews:
    """A reviewed photo: its file, its night (None: in no event), the boxes people confirmed
    or drew, and those they rejected."""

    image_id: int
    storage_key: str
    event_id: int | None
    insects: tuple[Rect, ...]
    rejected: tuple[Rect, ...]


@dataclass(frozen=True)
class ScorerFitted:
    """What a scorer was fitted on and how it did."""

    weights: dict[str, float]
    results: dict[str, Any]
    photos: int
    insects: int
    others: int
    latest_review_id: int


class DetectionScorerRepo:
    """Detection scorers refitted from box reviews."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, project_id: int, name: str, user_id: int, now: datetime) -> int:
        """A scorer, queued."""
        row = DetectionScorerRow(
            project_id=project_id, name=name, status=FitStatus.QUEUED.value, attempts=0,
            created_by=user_id, created_at=now,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def named(self, project_id: int, name: str) -> bool:
        """Whether the project has a scorer of this name."""
        found = select(DetectionScorerRow.id).where(
            DetectionScorerRow.project_id == project_id, DetectionScorerRow.name == name
        )
        return self.session.scalar(found) is not None

    def get(self, scorer_id: int) -> DetectionScorer | None:
        """One scorer (None for an id no row can have, as for one no row has)."""
        if not 1 <= scorer_id <= BIGINT_MAX:
            return None
        row = self.session.execute(
            select(DetectionScorerRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == DetectionScorerRow.created_by)
            .where(DetectionScorerRow.id == scorer_id)
        ).first()
        return _to_scorer(row[0], row[1]) if row is not None else None

    def of_project(self, project_id: int, limit: int) -> list[DetectionScorer]:
        """The project's scorers, newest first, at most ``limit``."""
        rows = self.session.execute(
            select(DetectionScorerRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == DetectionScorerRow.created_by)
            .where(DetectionScorerRow.project_id == project_id)
            .order_by(DetectionScorerRow.id.desc())
            .limit(limit)
        )
        return [_to_scorer(row, user) for row, user in rows]

    def reviewed_photos(
        self, project_id: int, hidden: Collection[str], limit: int
    ) -> tuple[list[PhotoReviews], int | None]:
        """The project's ``limit`` photos reviewed last, by id, with the boxes people judged on
        them (``hidden``: the labels that mean no object); and the newest review taken."""
        r = ReviewRow
        latest = func.max(r.id).label("latest")
        picked = self.session.execute(
            select(r.image_id, latest)
            .where(r.project_id == project_id)
            .group_by(r.image_id)
            .order_by(latest.desc())
            .limit(limit)
        ).all()
        if not picked:
            return [], None
        ids = sorted(int(image) for image, _ in picked)
        files = {
            int(image): (str(key), event)
            for image, key, event in self.session.execute(
                select(ImageRow.id, ImageRow.storage_key, ImageEventRow.event_id)
                .outerjoin(ImageEventRow, ImageEventRow.image_id == ImageRow.id)
                .where(ImageRow.id.in_(ids))
            )
        }
        insects: dict[int, list[Rect]] = {i: [] for i in ids}
        rejected: dict[int, list[Rect]] = {i: [] for i in ids}
        boxes = EvaluationSetRepo(self.session).reviewed_boxes(ids, (), frozenset(hidden))
        for box in boxes:
            rect = (float(box["x1"]), float(box["y1"]), float(box["x2"]), float(box["y2"]))
            kind = ItemKind(box["kind"])
            (rejected if kind is ItemKind.REJECTED else insects)[box["image_id"]].append(rect)
        photos = [
            PhotoReviews(i, files[i][0], files[i][1], tuple(insects[i]), tuple(rejected[i]))
            for i in ids
            if i in files
        ]
        return photos, max(int(newest) for _, newest in picked)

    def photo_files(self, image_ids: Sequence[int]) -> dict[int, str]:
        """The storage key of each of these photos still there."""
        rows = self.session.execute(
            select(ImageRow.id, ImageRow.storage_key).where(ImageRow.id.in_(list(image_ids)))
        )
        return {int(image): str(key) for image, key in rows}

    # -- the run ----------------------------------------------------------------------------

    def fail_exhausted(self, stale: datetime, now: datetime) -> int:
        """Fail the scorers whose servers died in them ``STEPPED_RUN_ATTEMPTS`` times."""
        reason = (
            f"the server fitting this scorer stopped {STEPPED_RUN_ATTEMPTS} times in it; "
            "the server log says why"
        )
        return _RUNS.fail_exhausted(self.session, stale, now, reason)

    def claimable(self, stale: datetime) -> list[int]:
        """Scorers waiting, or fitting under a runner gone silent since ``stale``."""
        return _RUNS.claimable(self.session, stale)

    def claim(self, scorer_id: int, holder: str, now: datetime, stale: datetime) -> bool:
        """Take a waiting scorer (or one whose runner went silent) for ``holder``."""
        return _RUNS.claim(self.session, scorer_id, holder, now, stale)

    def heartbeat(self, scorer_id: int, holder: str, now: datetime) -> bool:
        """Renew ``holder``'s claim; False when the scorer is no longer its own."""
        return _RUNS.renew(self.session, scorer_id, holder, now)

    def release(self, scorer_id: int, holder: str) -> None:
        """Hand a scorer back to the queue (this server is stopping)."""
        _RUNS.release(self.session, scorer_id, holder)

    def progressed(self, scorer_id: int, holder: str, stage: str, share: float) -> bool:
        """Say how far ``holder``'s fit has got; False when the scorer is no longer its own."""
        return _RUNS.change(self.session, scorer_id, holder, {"stage": stage, "progress": share})

    def fail(self, scorer_id: int, holder: str, reason: str, now: datetime) -> None:
        """Record that ``holder``'s scorer failed for good."""
        _RUNS.fail(self.session, scorer_id, holder, reason, now)

    def fitted(self, scorer_id: int, holder: str, now: datetime, fitted: ScorerFitted) -> bool:
        """Record ``holder``'s fitted scorer; False when it is no longer its own."""
        values = {
            "weights": fitted.weights,
            "results": fitted.results,
            "photos": fitted.photos,
            "insects": fitted.insects,
            "others": fitted.others,
            "latest_review_id": fitted.latest_review_id,
            "fitted_at": now,
            "error": None,
            "stage": None,
            "progress": 1.0,
        }
        status = FitStatus.FITTED.value
        return _RUNS.finish(self.session, scorer_id, holder, status, now, values)


def _to_scorer(row: DetectionScorerRow, user: str | None) -> DetectionScorer:
    return DetectionScorer(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        status=FitStatus(row.status),
        error=row.error,
        weights=row.weights,
        results=row.results,
        photos=row.photos,
        insects=row.insects,
        others=row.others,
        latest_review_id=row.latest_review_id,
        created_by=user,
        created_at=row.created_at,
        fitted_at=row.fitted_at,
        stage=row.stage,
        progress=row.progress,
    )
