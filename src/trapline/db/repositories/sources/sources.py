"""Pull sources, their runs, the remote files they have seen, and the run lease."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from trapline.db.leased_rows import LeasedRows
from trapline.db.tables import PullSourceItemRow, PullSourceRow, PullSourceRunRow
from trapline.db.types import affected
from trapline.domain.sources.sources import (
    ItemStatus,
    KnownFile,
    PullSource,
    RunStatus,
    SourceItem,
    SourceRun,
)

#: Runs that are not over.
OPEN_RUNS = tuple(status.value for status in RunStatus if not status.final)
#: The columns a file's outcome sets, besides its source and key.
ITEM_OUTCOME = (
    "status", "image_id", "attempts", "error", "next_attempt_at", "updated_at", "version", "size",
    "run_id",
)  # fmt: skip
_UPSERTS: dict[str, Any] = {}
#: A source's run lease: the server running it, and when its lease runs out.
_RUN_LEASE = LeasedRows(
    PullSourceRow.id, PullSourceRow.lease_holder, PullSourceRow.lease_expires_at
)


def _outcome_upsert(dialect: str) -> Any:
    """The insert-or-update of files' outcomes, built once per dialect: building it anew for
    each file was a quarter of a pull's Python time."""
    if dialect not in _UPSERTS:
        factory = postgresql.insert if dialect == "postgresql" else sqlite.insert
        statement = factory(PullSourceItemRow)
        _UPSERTS[dialect] = statement.on_conflict_do_update(
            index_elements=[PullSourceItemRow.source_id, PullSourceItemRow.key],
            set_={name: statement.excluded[name] for name in ITEM_OUTCOME},
        )
    return _UPSERTS[dialect]


def _aware(moment: datetime | None) -> datetime | None:
    """A time read through a column list: SQLite hands it back without its zone (UTC)."""
    if moment is None or moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=UTC)


def to_source(row: PullSourceRow) -> PullSource:
    """Record from a row."""
    return PullSource(
        id=row.id,
        project_id=row.project_id,
        deployment_id=row.deployment_id,
        name=row.name,
        kind=row.kind,
        url=row.url,
        endpoint_url=row.endpoint_url,
        credential_names=tuple(row.credential_names or ()),
        include=tuple(row.include),
        exclude=tuple(row.exclude),
        depth=row.depth,
        schedule=row.schedule,
        max_files=row.max_files,
        pipeline=row.pipeline,
        enabled=row.enabled,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
        next_run_at=row.next_run_at,
        sealed_credentials=row.credentials,
    )


def to_run(row: PullSourceRunRow) -> SourceRun:
    """Record from a row."""
    return SourceRun(
        id=row.id,
        source_id=row.source_id,
        status=RunStatus(row.status),
        trigger=row.trigger,
        created_at=row.created_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        listed=row.listed,
        new=row.new,
        imported=row.imported,
        duplicates=row.duplicates,
        failed=row.failed,
        skipped=row.skipped,
        error=row.error,
        job_id=row.job_id,
    )


def to_item(row: PullSourceItemRow) -> SourceItem:
    """Record from a row."""
    return SourceItem(
        id=row.id,
        source_id=row.source_id,
        key=row.key,
        version=row.version,
        size=row.size,
        status=ItemStatus(row.status),
        image_id=row.image_id,
        attempts=row.attempts,
        error=row.error,
        next_attempt_at=row.next_attempt_at,
        run_id=row.run_id,
        updated_at=row.updated_at,
    )


class SourceRepo:
    """Pull sources with their runs and items."""

    def __init__(self, session: Session) -> None:
        self.session = session

    # Sources

    def create(self, **values: Any) -> PullSource:
        """Add a source."""
        row = PullSourceRow(**values)
        self.session.add(row)
        self.session.flush()
        return to_source(row)

    def get(self, source_id: int) -> PullSource | None:
        """The source with this id."""
        row = self.session.get(PullSourceRow, source_id)
        return to_source(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[PullSource]]:
        """A project's sources by id."""
        where = PullSourceRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(PullSourceRow)
            .where(where)
            .order_by(PullSourceRow.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [to_source(r) for r in rows]

    def update(self, source_id: int, **values: Any) -> PullSource | None:
        """Change some fields."""
        row = self.session.get(PullSourceRow, source_id)
        if row is None:
            return None
        for name, value in values.items():
            setattr(row, name, value)
        self.session.flush()
        return to_source(row)

    def delete(self, source_id: int) -> None:
        """Remove a source with its runs and items (the images stay)."""
        self.session.execute(delete(PullSourceRow).where(PullSourceRow.id == source_id))

    # The run lease

    def due(self, now: datetime, limit: int) -> list[int]:
        """Sources to run now whose lease is free: enabled and due, or with a run that is
        queued, or still marked running although its lease ran out (its server died)."""
        queued = select(PullSourceRunRow.source_id).where(PullSourceRunRow.status.in_(OPEN_RUNS))
        free = _RUN_LEASE.free(now)
        wanted = or_(
            (PullSourceRow.enabled.is_(True)) & (PullSourceRow.next_run_at <= now),
            PullSourceRow.id.in_(queued),
        )
        return list(
            self.session.scalars(
                select(PullSourceRow.id)
                .where(free, wanted)
                .order_by(PullSourceRow.next_run_at, PullSourceRow.id)
                .limit(limit)
            )
        )

    def acquire(self, source_id: int, holder: str, until: datetime, now: datetime) -> bool:
        """Take the source's run lease; False while another live holder has it."""
        return _RUN_LEASE.claim(self.session, source_id, holder, until, now)

    def renew(self, source_id: int, holder: str, until: datetime) -> bool:
        """Extend the lease this holder has; False when it has lost it."""
        return _RUN_LEASE.renew(self.session, source_id, holder, until)

    def release(self, source_id: int, holder: str, next_run_at: datetime | None) -> None:
        """Hand the lease back and set when the schedule next asks for a run."""
        _RUN_LEASE.release(self.session, source_id, holder, {"next_run_at": next_run_at})

    # Runs

    def create_run(self, source_id: int, trigger: str, now: datetime) -> SourceRun:
        """A queued run."""
        row = PullSourceRunRow(
            source_id=source_id, status=RunStatus.QUEUED.value, trigger=trigger, created_at=now,
            listed=0, new=0, imported=0, duplicates=0, failed=0, skipped=0,
        )  # fmt: skip
        self.session.add(row)
        self.session.flush()
        return to_run(row)

    def open_run(self, source_id: int) -> SourceRun | None:
        """The source's oldest run that is queued or running, if any."""
        row = self.session.scalars(
            select(PullSourceRunRow)
            .where(PullSourceRunRow.source_id == source_id, PullSourceRunRow.status.in_(OPEN_RUNS))
            .order_by(PullSourceRunRow.id)
            .limit(1)
        ).first()
        return to_run(row) if row else None

    def start_run(self, run_id: int, holder: str, now: datetime) -> None:
        """The run begins on this holder."""
        self.session.execute(
            update(PullSourceRunRow)
            .where(PullSourceRunRow.id == run_id)
            .values(status=RunStatus.RUNNING.value, holder=holder, started_at=now)
        )

    def interrupt_runs(self, source_id: int, now: datetime, reason: str) -> int:
        """End the source's runs still marked running (their server stopped or died)."""
        ended = self.session.execute(
            update(PullSourceRunRow)
            .where(
                PullSourceRunRow.source_id == source_id,
                PullSourceRunRow.status == RunStatus.RUNNING.value,
            )
            .values(status=RunStatus.INTERRUPTED.value, ended_at=now, error=reason)
        )
        return affected(ended)

    def record_run(self, run_id: int, **values: Any) -> None:
        """Store a run's counters, status, end or error."""
        self.session.execute(
            update(PullSourceRunRow).where(PullSourceRunRow.id == run_id).values(**values)
        )

    def get_run(self, run_id: int) -> SourceRun | None:
        """The run with this id."""
        row = self.session.get(PullSourceRunRow, run_id)
        return to_run(row) if row else None

    def runs_page(self, source_id: int, *, limit: int, offset: int) -> tuple[int, list[SourceRun]]:
        """A source's runs, newest first."""
        where = PullSourceRunRow.source_id == source_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(PullSourceRunRow)
            .where(where)
            .order_by(PullSourceRunRow.id.desc())
            .limit(limit)
            .offset(offset)
        )
        return total, [to_run(r) for r in rows]

    def last_runs(self, source_ids: Iterable[int]) -> dict[int, SourceRun]:
        """The newest run of each of these sources, for those that have one."""
        wanted = list(source_ids)
        if not wanted:
            return {}
        newest = (
            select(func.max(PullSourceRunRow.id))
            .where(PullSourceRunRow.source_id.in_(wanted))
            .group_by(PullSourceRunRow.source_id)
        )
        rows = self.session.scalars(select(PullSourceRunRow).where(PullSourceRunRow.id.in_(newest)))
        return {r.source_id: to_run(r) for r in rows}

    # Items

    def forget_items(self, source_id: int) -> None:
        """The source no longer remembers any file (it points somewhere else now)."""
        items = PullSourceItemRow
        self.session.execute(delete(items).where(items.source_id == source_id))

    def items_for(self, source_id: int, keys: Iterable[str]) -> dict[str, SourceItem]:
        """What the source has seen of these keys."""
        wanted = list(keys)
        if not wanted:
            return {}
        rows = self.session.scalars(
            select(PullSourceItemRow).where(
                PullSourceItemRow.source_id == source_id, PullSourceItemRow.key.in_(wanted)
            )
        )
        return {r.key: to_item(r) for r in rows}

    def known(self, source_id: int, keys: Iterable[str]) -> dict[str, KnownFile]:
        """What a run needs of these keys, for those the source has seen (columns only: a
        run over a million known files reads them all)."""
        wanted = list(keys)
        if not wanted:
            return {}
        item = PullSourceItemRow
        rows = self.session.execute(
            select(item.key, item.version, item.status, item.attempts, item.next_attempt_at).where(
                item.source_id == source_id, item.key.in_(wanted)
            )
        )
        return {
            key: KnownFile(version, ItemStatus(status), attempts, _aware(retry_at))
            for key, version, status, attempts, retry_at in rows
        }

    def record_items(self, source_id: int, outcomes: Sequence[dict[str, Any]]) -> None:
        """Insert or update what became of remote files, in one statement: each outcome has
        ``key`` and every column of ``ITEM_OUTCOME``."""
        if outcomes:
            statement = _outcome_upsert(self.session.get_bind().dialect.name)
            self.session.execute(statement, [{"source_id": source_id, **o} for o in outcomes])

    def run_items(
        self, run_id: int, status: ItemStatus, *, limit: int, offset: int
    ) -> tuple[int, list[SourceItem]]:
        """Files a run left in ``status`` (its failures, say), by key."""
        where = (PullSourceItemRow.run_id == run_id) & (PullSourceItemRow.status == status.value)
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(PullSourceItemRow)
            .where(where)
            .order_by(PullSourceItemRow.key)
            .limit(limit)
            .offset(offset)
        )
        return total, [to_item(r) for r in rows]
