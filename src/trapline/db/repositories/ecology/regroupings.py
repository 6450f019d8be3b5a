"""Regroupings of events after a rule changed: started, claimed under a lease, advanced one
deployment per transaction."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from trapline.db.leased_rows import STEPPED_RUN_ATTEMPTS, LeasedRows
from trapline.db.repositories.core.projects import ProjectRepo
from trapline.db.repositories.ecology.events import EventRepo
from trapline.db.tables import DeploymentRow, RegroupingRow
from trapline.domain.ecology.events import Regrouping, RegroupingStatus

#: Lines a regrouping keeps of what it could not keep (one an occurrence it parted).
NOT_KEPT_LINES = 100
#: Deployments a regrouping names in its error, at most (it counts them all).
ERROR_LINES = 20
_OPEN = (RegroupingStatus.QUEUED.value, RegroupingStatus.RUNNING.value)
#: Regroupings are runs: claimed by a server, kept by its heartbeat, handed back or failed.
_RUNS = LeasedRows(
    RegroupingRow.id,
    RegroupingRow.runner,
    RegroupingRow.heartbeat_at,
    status=RegroupingRow.status,
    attempts=RegroupingRow.attempts,
    max_attempts=STEPPED_RUN_ATTEMPTS,
)


def _to_regrouping(row: RegroupingRow) -> Regrouping:
    return Regrouping(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        status=RegroupingStatus(row.status),
        deployments_total=row.deployments_total,
        deployments_done=row.deployments_done,
        deployments_failed=row.deployments_failed,
        error=row.error,
        not_kept=tuple(row.not_kept.splitlines()) if row.not_kept else (),
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


class RegroupingRepo:
    """Regroupings of events."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def start(self, project_id: int, deployment_id: int | None, now: datetime) -> Regrouping:
        """A new regrouping of the scope; unfinished ones of the same scope are superseded."""
        self.session.execute(
            update(RegroupingRow)
            .where(
                RegroupingRow.project_id == project_id,
                RegroupingRow.deployment_id.is_(None)
                if deployment_id is None
                else RegroupingRow.deployment_id == deployment_id,
                RegroupingRow.status.in_(_OPEN),
            )
            .values(status=RegroupingStatus.SUPERSEDED.value, runner=None, finished_at=now)
        )
        row = RegroupingRow(
            project_id=project_id,
            deployment_id=deployment_id,
            status=RegroupingStatus.QUEUED.value,
            deployments_done=0,
            after_deployment_id=0,
            attempts=0,
            created_at=now,
        )
        self.session.add(row)
        self.session.flush()
        return _to_regrouping(row)

    def get(self, regrouping_id: int) -> Regrouping | None:
        """One regrouping."""
        row = self.session.get(RegroupingRow, regrouping_id)
        return _to_regrouping(row) if row else None

    def latest(self, project_id: int, deployment_id: int) -> Regrouping | None:
        """The newest regrouping that takes this deployment (its own, or its project's)."""
        row = self.session.scalars(
            select(RegroupingRow)
            .where(
                RegroupingRow.project_id == project_id,
                RegroupingRow.deployment_id.is_(None)
                | (RegroupingRow.deployment_id == deployment_id),
            )
            .order_by(RegroupingRow.id.desc())
            .limit(1)
        ).first()
        return _to_regrouping(row) if row else None

    def fail_exhausted(self, stale: datetime, now: datetime) -> int:
        """Fail the regroupings whose servers died in them ``STEPPED_RUN_ATTEMPTS`` times."""
        reason = (
            f"the server running this regrouping stopped {STEPPED_RUN_ATTEMPTS} times in it; "
            "the server log says why"
        )
        return _RUNS.fail_exhausted(self.session, stale, now, reason)

    def claimable(self, stale: datetime) -> list[int]:
        """Regroupings waiting, or running under a runner gone silent since ``stale``."""
        return _RUNS.claimable(self.session, stale)

    def claim(self, regrouping_id: int, holder: str, now: datetime, stale: datetime) -> bool:
        """Take a waiting regrouping (or one whose runner went silent) for ``holder``."""
        if not _RUNS.claim(self.session, regrouping_id, holder, now, stale):
            return False
        row = self.session.get(RegroupingRow, regrouping_id)
        if row is not None and row.deployments_total is None:
            row.deployments_total = self.session.scalar(
                select(func.count()).where(*self._scope(row))
            )
        return True

    def heartbeat(self, regrouping_id: int, holder: str, now: datetime) -> bool:
        """Renew ``holder``'s claim; False when the regrouping is no longer its own."""
        return _RUNS.renew(self.session, regrouping_id, holder, now)

    def release(self, regrouping_id: int, holder: str) -> None:
        """Hand a running regrouping back to the queue (this server is stopping)."""
        _RUNS.release(self.session, regrouping_id, holder)

    def step(self, regrouping_id: int, holder: str, now: datetime) -> bool | None:
        """Regroup the next deployment; True when none was left (it succeeded), None when the
        regrouping is no longer ``holder``'s."""
        project_id = self.session.scalar(
            select(RegroupingRow.project_id).where(RegroupingRow.id == regrouping_id)
        )
        if project_id is None:
            return None
        # The project's row before the regrouping's, as a delete takes them: a step waits for
        # a delete of the project under way, then finds its regrouping gone with it.
        ProjectRepo(self.session).lock(project_id)
        row: RegroupingRow | None = _RUNS.held(self.session, regrouping_id, holder, now)
        if row is None:
            return None
        following = self._following(row)
        if following is None:
            done = {"deployments_total": row.deployments_done + row.deployments_failed}
            ended = RegroupingStatus.FAILED if row.error else RegroupingStatus.SUCCEEDED
            _RUNS.finish(self.session, regrouping_id, holder, ended.value, now, done)
            return True
        not_kept = EventRepo(self.session).regroup(following)
        if not_kept:
            lines = [*(row.not_kept or "").splitlines(), *not_kept][:NOT_KEPT_LINES]
            row.not_kept = "\n".join(lines)
        row.after_deployment_id = following
        row.deployments_done += 1
        return False

    def skip(self, regrouping_id: int, holder: str, now: datetime, reason: str) -> bool:
        """The next deployment could not be regrouped (it keeps its events): note why on the
        regrouping, which goes on with the others and ends failed, naming it; False when the
        regrouping is no longer ``holder``'s."""
        row: RegroupingRow | None = _RUNS.held(self.session, regrouping_id, holder, now)
        if row is None:
            return False
        following = self._following(row)
        if following is None:
            return True
        line = f"deployment {following}: {reason}"
        if row.deployments_failed < ERROR_LINES:
            row.error = f"{row.error}\n{line}" if row.error else line
        row.deployments_failed += 1
        row.after_deployment_id = following
        return True

    def _following(self, row: RegroupingRow) -> int | None:
        """The deployment the regrouping takes next."""
        return self.session.scalar(
            select(DeploymentRow.id)
            .where(*self._scope(row), DeploymentRow.id > row.after_deployment_id)
            .order_by(DeploymentRow.id)
            .limit(1)
        )

    def fail(self, regrouping_id: int, holder: str, reason: str, now: datetime) -> None:
        """Record that ``holder``'s run failed for good."""
        _RUNS.fail(self.session, regrouping_id, holder, reason, now)

    def _scope(self, row: RegroupingRow) -> list[ColumnElement[bool]]:
        terms = [DeploymentRow.project_id == row.project_id]
        if row.deployment_id is not None:
            terms.append(DeploymentRow.id == row.deployment_id)
        return terms
