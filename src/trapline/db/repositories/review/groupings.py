"""Groupings of a project's unidentified individuals: queued, claimed under a lease, done or
failed (runs: ``db/leased_rows.py``), and the group each individual fell in."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from trapline.db.leased_rows import STEPPED_RUN_ATTEMPTS, LeasedRows
from trapline.db.repositories.core.users import USER_NAME
from trapline.db.tables import GroupingMemberRow, GroupingRow, OccurrenceRow, UserRow
from trapline.db.types import BIGINT_MAX
from trapline.evaluation.groupings import Grouping, GroupingStatus, GroupSummary

#: Groupings are runs: claimed by a server, kept by its heartbeat, handed back or failed.
_RUNS = LeasedRows(
    GroupingRow.id,
    GroupingRow.runner,
    GroupingRow.heartbeat_at,
    status=GroupingRow.status,
    attempts=GroupingRow.attempts,
    max_attempts=STEPPED_RUN_ATTEMPTS,
    running=GroupingStatus.RUNNING.value,
)
#: Members written per statement.
WRITE_ROWS = 5_000


@dataclass(frozen=True)
class Scope:
    """Which individuals a grouping takes: a deployment's (None: all), first seen in the
    nights from ``since`` to ``until`` (both included; None: no bound)."""

    deployment_id: int | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class Member:
    """An individual a done grouping took: its occurrence, group (0: ungrouped), similarity to
    the group's centre, and the detection whose crop shows it best."""

    occurrence_id: int
    group_number: int
    similarity: float
    best_annotation_id: int


class GroupingRepo:
    """Groupings of unidentified individuals."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, project_id: int, name: str, features_from: str, scope: Scope, user_id: int,
        now: datetime,
    ) -> int:  # fmt: skip
        """A grouping, queued."""
        row = GroupingRow(
            project_id=project_id, name=name, features_from=features_from,
            deployment_id=scope.deployment_id, since=scope.since, until=scope.until,
            status=GroupingStatus.QUEUED.value, attempts=0, created_by=user_id, created_at=now,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return row.id

    def get(self, grouping_id: int) -> Grouping | None:
        """One grouping (None for an id no row can have, as for one no row has)."""
        if not 1 <= grouping_id <= BIGINT_MAX:
            return None
        row = self.session.execute(
            select(GroupingRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == GroupingRow.created_by)
            .where(GroupingRow.id == grouping_id)
        ).first()
        return _to_grouping(row[0], row[1]) if row is not None else None

    def of_project(self, project_id: int, limit: int) -> list[Grouping]:
        """The project's groupings, newest first, at most ``limit``."""
        rows = self.session.execute(
            select(GroupingRow, USER_NAME)
            .outerjoin(UserRow, UserRow.id == GroupingRow.created_by)
            .where(GroupingRow.project_id == project_id)
            .order_by(GroupingRow.id.desc())
            .limit(limit)
        )
        return [_to_grouping(row, user) for row, user in rows]

    def members(
        self, grouping_id: int, group_number: int, limit: int | None = None
    ) -> list[Member]:
        """The members of a group (0: the ungrouped) whose occurrence is still there, most
        alike the centre first, at most ``limit``."""
        m, o = GroupingMemberRow, OccurrenceRow
        query = (
            select(m.occurrence_id, m.group_number, m.similarity, o.best_annotation_id)
            .join(o, o.id == m.occurrence_id)
            .where(m.grouping_id == grouping_id, m.group_number == group_number)
            .order_by(m.similarity.desc(), m.occurrence_id)
        )
        if limit is not None:
            query = query.limit(limit)
        return [
            Member(int(a), int(b), float(c), int(d)) for a, b, c, d in self.session.execute(query)
        ]

    def unidentified_members(self, grouping_id: int, group_number: int) -> list[int]:
        """The occurrences of a group still there that nobody identified or rejected since."""
        m, o = GroupingMemberRow, OccurrenceRow
        return [
            int(i)
            for i in self.session.scalars(
                select(m.occurrence_id)
                .join(o, o.id == m.occurrence_id)
                .where(
                    m.grouping_id == grouping_id,
                    m.group_number == group_number,
                    o.identified_by.is_(None),
                    o.rejected.is_(None),
                )
                .order_by(m.similarity.desc(), m.occurrence_id)
            )
        ]

    def still_unidentified(self, grouping_id: int) -> dict[int, int]:
        """Per group (0: the ungrouped), how many of its individuals are still there and
        unidentified."""
        m, o = GroupingMemberRow, OccurrenceRow
        rows = self.session.execute(
            select(m.group_number, func.count())
            .join(o, o.id == m.occurrence_id)
            .where(m.grouping_id == grouping_id, o.identified_by.is_(None), o.rejected.is_(None))
            .group_by(m.group_number)
        )
        return {int(n): int(c) for n, c in rows}

    # -- the run ----------------------------------------------------------------------------

    def fail_exhausted(self, stale: datetime, now: datetime) -> int:
        """Fail the groupings whose servers died in them ``STEPPED_RUN_ATTEMPTS`` times."""
        reason = (
            f"the server grouping these individuals stopped {STEPPED_RUN_ATTEMPTS} times in "
            "it; the server log says why"
        )
        return _RUNS.fail_exhausted(self.session, stale, now, reason)

    def claimable(self, stale: datetime) -> list[int]:
        """Groupings waiting, or running under a runner gone silent since ``stale``."""
        return _RUNS.claimable(self.session, stale)

    def claim(self, grouping_id: int, holder: str, now: datetime, stale: datetime) -> bool:
        """Take a waiting grouping (or one whose runner went silent) for ``holder``."""
        return _RUNS.claim(self.session, grouping_id, holder, now, stale)

    def heartbeat(self, grouping_id: int, holder: str, now: datetime) -> bool:
        """Renew ``holder``'s claim; False when the grouping is no longer its own."""
        return _RUNS.renew(self.session, grouping_id, holder, now)

    def release(self, grouping_id: int, holder: str) -> None:
        """Hand a grouping back to the queue (this server is stopping)."""
        _RUNS.release(self.session, grouping_id, holder)

    def progressed(self, grouping_id: int, holder: str, stage: str, share: float) -> bool:
        """Say how far ``holder``'s grouping has got; False when it is no longer its own."""
        return _RUNS.change(self.session, grouping_id, holder, {"stage": stage, "progress": share})

    def fail(self, grouping_id: int, holder: str, reason: str, now: datetime) -> None:
        """Record that ``holder``'s grouping failed for good."""
        _RUNS.fail(self.session, grouping_id, holder, reason, now)

    def done(
        self,
        grouping_id: int,
        holder: str,
        now: datetime,
        done: Grouping,
        members: Sequence[tuple[int, int, float]],
    ) -> bool:
        """Record ``holder``'s groups (``done`` says them; ``members``: occurrence, group,
        similarity); False when the grouping is no longer its own."""
        values = {
            "features_version": done.features_version,
            "features_length": done.features_length,
            "individuals": done.individuals,
            "dimensions": done.dimensions,
            "results": Grouping.results_of(done.groups, done.ungrouped or 0, done.tried),
            "error": None,
            "stage": None,
            "progress": 1.0,
        }
        if not _RUNS.finish(
            self.session, grouping_id, holder, GroupingStatus.DONE.value, now, values
        ):
            return False
        m = GroupingMemberRow
        self.session.execute(delete(m).where(m.grouping_id == grouping_id))  # a run taken over
        for start in range(0, len(members), WRITE_ROWS):
            rows = [
                {"grouping_id": grouping_id, "occurrence_id": o, "group_number": g,
                 "similarity": s}
                for o, g, s in members[start : start + WRITE_ROWS]
            ]  # fmt: skip
            self.session.execute(insert(m), rows)
        return True


def _to_grouping(row: GroupingRow, user: str | None) -> Grouping:
    results = row.results or {}
    return Grouping(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        features_from=row.features_from,
        deployment_id=row.deployment_id,
        since=row.since,
        until=row.until,
        status=GroupingStatus(row.status),
        error=row.error,
        created_by=user,
        created_at=row.created_at,
        finished_at=row.finished_at,
        stage=row.stage,
        progress=row.progress,
        features_version=row.features_version,
        features_length=row.features_length,
        individuals=row.individuals,
        dimensions=row.dimensions,
        groups=tuple(
            GroupSummary(int(n), int(s), float(t)) for n, s, t in results.get("groups", [])
        ),
        ungrouped=results.get("ungrouped"),
        tried=tuple((int(k), float(s)) for k, s in results.get("tried", [])),
    )
