"""Exports: their records, claimed, tended and finished by the export runner."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from trapline.db.leased_rows import LeasedRows
from trapline.db.tables import (
    ExportRow,
)
from trapline.db.types import affected
from trapline.domain.exports.exports import Export, ExportFilters, ExportFormat, ExportStatus

_RUNNING = ExportStatus.RUNNING.value
#: Exports are runs: claimed by a server, kept by its heartbeat, handed back or failed. A
#: runner never claims its own running export again (that would start it over).
_RUNS = LeasedRows(
    ExportRow.id,
    ExportRow.runner,
    ExportRow.heartbeat_at,
    status=ExportRow.status,
    attempts=ExportRow.attempts,
    claimed_again=False,
)


def to_export(row: ExportRow) -> Export:
    """Record from a row."""
    return Export(
        id=row.id,
        project_id=row.project_id,
        format=ExportFormat(row.format),
        filters=ExportFilters.from_json(row.filters),
        status=ExportStatus(row.status),
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        expires_at=row.expires_at,
        images_total=row.images_total,
        images_done=row.images_done,
        counts=dict(row.counts or {}),
        errors=list(row.errors or []),
        counted=list(row.counted or []),
        error=row.error,
        blob_key=row.blob_key,
        file_name=row.file_name,
        size_bytes=row.size_bytes,
    )


class ExportRepo:
    """Export records and their life cycle; every change of a running export names its runner."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, project_id: int, fmt: ExportFormat, filters: ExportFilters, created_by: int | None
    ) -> Export:
        """A new queued export."""
        row = ExportRow(
            project_id=project_id,
            format=fmt.value,
            filters=filters.as_json(),
            status=ExportStatus.QUEUED.value,
            created_by=created_by,
            attempts=0,
            images_done=0,
            counts={},
            errors=[],
            counted=[],
        )
        self.session.add(row)
        self.session.flush()
        return to_export(row)

    def get(self, export_id: int) -> Export | None:
        """The export with this id."""
        row = self.session.get(ExportRow, export_id)
        return to_export(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[Export]]:
        """A project's exports, newest first."""
        where = ExportRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(ExportRow).where(where).order_by(ExportRow.id.desc()).limit(limit).offset(offset)
        )
        return total, [to_export(r) for r in rows]

    def any_to_tend(self, now: datetime) -> bool:
        """Whether any export is queued, running or past its expiry (the duty's first look)."""
        found = self.session.scalar(
            select(ExportRow.id)
            .where(
                ExportRow.status.in_([ExportStatus.QUEUED.value, _RUNNING])
                | (
                    (ExportRow.status == ExportStatus.SUCCEEDED.value)
                    & (ExportRow.expires_at < now)
                )
            )
            .limit(1)
        )
        return found is not None

    def claimable(self, stale_before: datetime, *, limit: int = 10) -> list[int]:
        """Queued exports, and running ones whose runner has gone silent, oldest first."""
        return _RUNS.claimable(self.session, stale_before, limit=limit)

    def claim(
        self, export_id: int, runner: str, now: datetime, stale_before: datetime, max_attempts: int
    ) -> bool:
        """Take the export to run it: queued, or running under a silent runner; one try more."""
        return _RUNS.claim(
            self.session,
            export_id,
            runner,
            now,
            stale_before,
            where=(ExportRow.attempts < max_attempts,),
            values={
                "started_at": func.coalesce(ExportRow.started_at, now),
                "images_done": 0,
                "images_total": None,
                "counts": {},
                "errors": [],
                "counted": [],
            },
        )

    def fail_exhausted(self, stale_before: datetime, max_attempts: int, now: datetime) -> int:
        """Fail exports whose runners died ``max_attempts`` times (the export may be the cause)."""
        reason = (
            f"the server running this export stopped {max_attempts} times; "
            "create the export again, with narrower filters if it is large"
        )
        return _RUNS.fail_exhausted(self.session, stale_before, now, reason, max_attempts)

    def progress(
        self,
        export_id: int,
        runner: str,
        now: datetime,
        *,
        images_total: int | None = None,
        images_done: int,
        counts: dict[str, int],
        errors: list[str],
    ) -> bool:
        """Record progress; False when the export is no longer this runner's to run
        (canceled, deleted, or taken over), so the runner stops."""
        values: dict[str, Any] = {
            "heartbeat_at": now,
            "images_done": images_done,
            "counts": counts,
            "errors": errors,
        }
        if images_total is not None:
            values["images_total"] = images_total
        return self._own(export_id, runner, values)

    def state_counted(self, export_id: int, runner: str, counted: list[str]) -> bool:
        """Record what the export counts; False when it is no longer this runner's."""
        return self._own(export_id, runner, {"counted": counted})

    def heartbeat(self, export_id: int, runner: str, now: datetime) -> bool:
        """Say the runner is alive; False when the export is no longer its."""
        return _RUNS.renew(self.session, export_id, runner, now)

    def finish(
        self,
        export_id: int,
        runner: str,
        now: datetime,
        *,
        blob_key: str,
        file_name: str,
        size_bytes: int,
        expires_at: datetime,
        images_done: int,
        counts: dict[str, int],
        errors: list[str],
    ) -> bool:
        """Mark the export done with its file; False when it was no longer this runner's."""
        return self._own(
            export_id,
            runner,
            {
                "status": ExportStatus.SUCCEEDED.value,
                "finished_at": now,
                "heartbeat_at": now,
                "blob_key": blob_key,
                "file_name": file_name,
                "size_bytes": size_bytes,
                "expires_at": expires_at,
                "images_done": images_done,
                "counts": counts,
                "errors": errors,
            },
        )

    def fail(self, export_id: int, runner: str, now: datetime, error: str) -> bool:
        """Mark the export failed, saying why."""
        return _RUNS.fail(self.session, export_id, runner, error[:2000], now)

    def release(self, export_id: int, runner: str) -> bool:
        """Hand a running export back to the queue (its server is stopping)."""
        return _RUNS.release(self.session, export_id, runner)

    def cancel(self, export_id: int, now: datetime) -> bool:
        """Cancel a queued or running export; False when it had finished already."""
        result = self.session.execute(
            update(ExportRow)
            .where(
                ExportRow.id == export_id,
                ExportRow.status.in_([ExportStatus.QUEUED.value, _RUNNING]),
            )
            .values(status=ExportStatus.CANCELED.value, finished_at=now)
        )
        return affected(result) == 1

    def delete(self, export_id: int) -> None:
        """Remove the record (the caller removes the file)."""
        self.session.execute(delete(ExportRow).where(ExportRow.id == export_id))

    def expired(self, now: datetime, *, limit: int = 100) -> list[tuple[int, str | None]]:
        """Finished exports past their expiry that still have a file: (id, blob key)."""
        rows = self.session.execute(
            select(ExportRow.id, ExportRow.blob_key)
            .where(ExportRow.status == ExportStatus.SUCCEEDED.value, ExportRow.expires_at < now)
            .order_by(ExportRow.id)
            .limit(limit)
        )
        return [(r.id, r.blob_key) for r in rows]

    def mark_expired(self, export_id: int) -> None:
        """The export's file is gone."""
        self.session.execute(
            update(ExportRow)
            .where(ExportRow.id == export_id, ExportRow.status == ExportStatus.SUCCEEDED.value)
            .values(status=ExportStatus.EXPIRED.value, blob_key=None)
        )

    def _own(self, export_id: int, runner: str, values: dict[str, Any]) -> bool:
        return _RUNS.change(self.session, export_id, runner, values)
