"""Worker processes seen by the platform."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trapline.db.tables import WorkerRow
from trapline.db.types import in_utc
from trapline.domain.pipelines.pipelines import WorkerInfo


def to_worker(row: WorkerRow) -> WorkerInfo:
    """Record from a row."""
    return WorkerInfo(
        id=row.id,
        identity=row.identity,
        hostname=row.hostname,
        software=row.software,
        version=row.version,
        pid=row.pid,
        pipelines=list(row.pipelines or []),
        last_seen_at=row.last_seen_at,
    )


class WorkerRepo:
    """Workers."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def touch(
        self,
        user_id: int,
        identity: str,
        *,
        hostname: str | None,
        software: str | None,
        version: str | None,
        pid: int | None,
        pipelines: list[str],
        service_id: int | None,
        now: datetime,
    ) -> None:
        """Record that a worker was seen now (creating it on first sight)."""
        row = self.session.scalar(
            select(WorkerRow).where(WorkerRow.user_id == user_id, WorkerRow.identity == identity)
        )
        if row is None:
            row = WorkerRow(user_id=user_id, identity=identity, first_seen_at=now, pipelines=[])
            try:
                with self.session.begin_nested():
                    self.session.add(row)
                    self.session.flush()
            except IntegrityError:  # seen by another request at the same moment
                row = self.session.scalar(
                    select(WorkerRow).where(
                        WorkerRow.user_id == user_id, WorkerRow.identity == identity
                    )
                )
                assert row is not None
        row.hostname, row.software, row.version, row.pid = hostname, software, version, pid
        row.pipelines = sorted(set(pipelines) | set(row.pipelines or []))
        row.service_id = service_id if service_id is not None else row.service_id
        row.last_seen_at = now
        self.session.flush()

    def serving(self, slug: str, since: datetime) -> set[int]:
        """The accounts of the workers that run pipeline ``slug`` seen since ``since``."""
        rows = self.session.execute(
            select(WorkerRow.user_id, WorkerRow.pipelines)
            .where(WorkerRow.last_seen_at >= since)
            .limit(1000)
        )
        return {int(user) for user, pipelines in rows if slug in (pipelines or ())}

    def last_seen(self, identities: Sequence[str]) -> dict[str, datetime]:
        """When each of these workers (by the name its leases carry) was last heard from."""
        rows = self.session.execute(
            select(WorkerRow.identity, func.max(WorkerRow.last_seen_at))
            .where(WorkerRow.identity.in_(list(identities)))
            .group_by(WorkerRow.identity)
        )
        return {str(identity): in_utc(seen) for identity, seen in rows if seen is not None}

    def of_service(self, service_id: int) -> list[WorkerInfo]:
        """A service's workers, most recently seen first."""
        rows = self.session.scalars(
            select(WorkerRow)
            .where(WorkerRow.service_id == service_id)
            .order_by(WorkerRow.last_seen_at.desc())
            .limit(200)
        )
        return [to_worker(r) for r in rows]
