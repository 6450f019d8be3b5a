"""Classifier heads refitted from identifications: queued, claimed under a lease, fitted or
failed (runs: ``db/leased_rows.py``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.leased_rows import STEPPED_RUN_ATTEMPTS, LeasedRows
from trapline.db.repositories.core.users import USER_NAME
from trapline.db.tables import ClassifierRow, UserRow
from trapline.db.types import BIGINT_MAX
from trapline.evaluation.classifiers import Classifier
from trapline.evaluation.fits import FitStatus

#: Refits are runs: claimed by a server, kept by its heartbeat, handed back or failed.
_RUNS = LeasedRows(
    ClassifierRow.id,
    ClassifierRow.runner,
    ClassifierRow.heartbeat_at,
    status=ClassifierRow.status,
    attempts=ClassifierRow.attempts,
    max_attempts=STEPPED_RUN_ATTEMPTS,
    running=FitStatus.FITTING.value,
)


@dataclass(frozen=True)
class FittedOn:
    """What a head was fitted on: the features' version and length, and the identifications
    (how many, the newest), individuals and detections taken."""

    features_version: int
    features_length: int
    identifications: int
    latest_identification_id: int
    individuals: int
    detections: int


class ClassifierRepo:
    """Refitted classifier heads."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, project_id: int, name: str, features_from: str, user_id: int, now: datetime
    ) -> int:
        """A refit, queued."""
        row = ClassifierRow(
            project_id=project_id, name=name, features_from=features_from,
            status=FitStatus.QUEUED.value, attempts=0, created_by=user_id, created_at=now,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def named(self, project_id: int, name: str) -> bool:
        """Whether the project has a refit of this name."""
        found = select(ClassifierRow.id).where(
            ClassifierRow.project_id == project_id, ClassifierRow.name == name
        )
        return self.session.scalar(found) is not None

    def get(self, classifier_id: int) -> Classifier | None:
        """One refit (None for an id no row can have, as for one no row has)."""
        if not 1 <= classifier_id <= BIGINT_MAX:
            return None
        row = self.session.execute(
            select(ClassifierRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == ClassifierRow.created_by)
            .where(ClassifierRow.id == classifier_id)
        ).first()
        return _to_classifier(row[0], row[1]) if row is not None else None

    def of_project(self, project_id: int, limit: int) -> list[Classifier]:
        """The project's refits, newest first, at most ``limit``."""
        rows = self.session.execute(
            select(ClassifierRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == ClassifierRow.created_by)
            .where(ClassifierRow.project_id == project_id)
            .order_by(ClassifierRow.id.desc())
            .limit(limit)
        )
        return [_to_classifier(row, user) for row, user in rows]

    def parameters(self, classifier_id: int) -> bytes | None:
        """A fitted head's parameters as stored (``evaluation/heads.Head.from_bytes``)."""
        return self.session.scalar(
            select(ClassifierRow.parameters).where(ClassifierRow.id == classifier_id)
        )

    # -- the run ----------------------------------------------------------------------------

    def fail_exhausted(self, stale: datetime, now: datetime) -> int:
        """Fail the refits whose servers died in them ``STEPPED_RUN_ATTEMPTS`` times."""
        reason = (
            f"the server fitting this classifier stopped {STEPPED_RUN_ATTEMPTS} times in it; "
            "the server log says why"
        )
        return _RUNS.fail_exhausted(self.session, stale, now, reason)

    def claimable(self, stale: datetime) -> list[int]:
        """Refits waiting, or fitting under a runner gone silent since ``stale``."""
        return _RUNS.claimable(self.session, stale)

    def claim(self, classifier_id: int, holder: str, now: datetime, stale: datetime) -> bool:
        """Take a waiting refit (or one whose runner went silent) for ``holder``."""
        return _RUNS.claim(self.session, classifier_id, holder, now, stale)

    def heartbeat(self, classifier_id: int, holder: str, now: datetime) -> bool:
        """Renew ``holder``'s claim; False when the refit is no longer its own."""
        return _RUNS.renew(self.session, classifier_id, holder, now)

    def release(self, classifier_id: int, holder: str) -> None:
        """Hand a refit back to the queue (this server is stopping)."""
        _RUNS.release(self.session, classifier_id, holder)

    def progressed(self, classifier_id: int, holder: str, stage: str, share: float) -> bool:
        """Say how far ``holder``'s fit has got; False when the refit is no longer its own."""
        said = {"stage": stage, "progress": share}
        return _RUNS.change(self.session, classifier_id, holder, said)

    def fail(self, classifier_id: int, holder: str, reason: str, now: datetime) -> None:
        """Record that ``holder``'s refit failed for good."""
        _RUNS.fail(self.session, classifier_id, holder, reason, now)

    def fitted(
        self,
        classifier_id: int,
        holder: str,
        now: datetime,
        on: FittedOn,
        results: dict[str, Any],
        parameters: bytes,
    ) -> bool:
        """Record ``holder``'s fitted head; False when the refit is no longer its own."""
        values = {
            "features_version": on.features_version,
            "features_length": on.features_length,
            "identifications": on.identifications,
            "latest_identification_id": on.latest_identification_id,
            "individuals": on.individuals,
            "detections": on.detections,
            "results": results,
            "parameters": parameters,
            "fitted_at": now,
            "error": None,
            "stage": None,
            "progress": 1.0,
        }
        status = FitStatus.FITTED.value
        return _RUNS.finish(self.session, classifier_id, holder, status, now, values)


def _to_classifier(row: ClassifierRow, user: str | None) -> Classifier:
    return Classifier(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        features_from=row.features_from,
        status=FitStatus(row.status),
        error=row.error,
        features_version=row.features_version,
        features_length=row.features_length,
        identifications=row.identifications,
        latest_identification_id=row.latest_identification_id,
        individuals=row.individuals,
        detections=row.detections,
        results=row.results,
        created_by=user,
        created_at=row.created_at,
        fitted_at=row.fitted_at,
        stage=row.stage,
        progress=row.progress,
    )
