"""Rows one server process at a time works on, under a lease: the one claim, renewal, hand-back
and failure of every table that has such rows.

A leased row names its holder and a time, and comes in two kinds:

- a *run* (an export, a regrouping of events, a re-reading of capture times) also has a status
  (``queued``, ``running``, then finished), an ``attempts`` count, an ``error`` and a
  ``finished_at``; its time is the runner's last heartbeat, and it is free to claim when
  queued, or running under a runner silent since the cutoff the caller names;
- a *lease* alone (a pull source's run lease) has only the holder and the time the lease runs
  out; it is free when it has no holder's time, or one before the cutoff (now).

A change only the holder may make names the holder, so a holder that lost its row (taken over
after it went silent, canceled, deleted) changes nothing and learns so: False. A run advanced
step by step reads its row through ``held`` (None when no longer its holder's), which renews
its heartbeat too, and ends it with ``finish``; no repository compares or writes a row's
holder or time itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select, update
from sqlalchemy.orm import Session

from trapline.db.types import affected

#: The statuses of a run this module sets or looks for (each kind of run has more).
QUEUED, RUNNING, FAILED = "queued", "running", "failed"
#: Claims a stepped run (a regrouping, a re-reading of capture times) gets at most.
STEPPED_RUN_ATTEMPTS = 3


@dataclass(frozen=True)
class LeasedRows:
    """A table's leased rows: the columns that say who holds a row, and since or until when."""

    #: The row's key.
    key: Any
    #: The holder's name (a server process's), None while nobody holds the row.
    holder: Any
    #: A run's last heartbeat, or when a lease alone runs out.
    time: Any
    #: A run's status (None: a lease alone).
    status: Any = None
    #: Counted up by every claim (None: claims are not counted).
    attempts: Any = None
    #: Whether the holder of a running row may claim it again (a renewal by claiming).
    claimed_again: bool = True
    #: Claims a run gets, at most (None: no cap): one whose server died this often in it is
    #: failed (``fail_exhausted``), as the run itself may be what kills it.
    max_attempts: int | None = None
    #: What a run's status says while a holder has it (a refit of a classifier is "fitting").
    running: str = RUNNING

    @property
    def table(self) -> Any:
        """The mapped class the columns belong to."""
        return self.key.class_

    def free(self, cutoff: datetime) -> ColumnElement[bool]:
        """Rows nobody holds: queued (no time, for a lease alone), or held by a holder
        silent since ``cutoff``."""
        waiting: ColumnElement[bool] = (
            self.time.is_(None) if self.status is None else self.status == QUEUED
        )
        return or_(waiting, self.silent(cutoff))

    def silent(self, cutoff: datetime) -> ColumnElement[bool]:
        """Rows held by a holder silent since ``cutoff`` (a lease alone: run out by then)."""
        expired: ColumnElement[bool] = self.time < cutoff
        return expired if self.status is None else and_(self.status == self.running, expired)

    def held_by(self, holder: str) -> tuple[ColumnElement[bool], ...]:
        """Rows ``holder`` holds now."""
        if self.status is None:
            return (self.holder == holder,)
        return (self.status == self.running, self.holder == holder)

    def claimable(
        self, session: Session, cutoff: datetime, *, limit: int | None = None
    ) -> list[int]:
        """The keys of free rows, oldest first."""
        query = select(self.key).where(self.free(cutoff)).order_by(self.key)
        if limit is not None:
            query = query.limit(limit)
        return list(session.scalars(query))

    def held(
        self, session: Session, row_id: Any, holder: str, time: datetime | None = None
    ) -> Any | None:
        """The row when ``holder`` holds it now, else None. With ``time``, the row's time is
        set to it first (a run's heartbeat at each step), which also holds the row until the
        transaction ends."""
        if time is not None:
            if not self.renew(session, row_id, holder, time):
                return None
            return session.get(self.table, row_id)
        query = select(self.table).where(self.key == row_id, *self.held_by(holder))
        return session.scalars(query).first()

    def claim(
        self,
        session: Session,
        row_id: Any,
        holder: str,
        time: datetime,
        cutoff: datetime,
        *,
        where: Iterable[ColumnElement[bool]] = (),
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Take a free row for ``holder`` (with ``where`` besides, and ``values`` set too);
        False when another holds it or it is not there."""
        free = self.free(cutoff)
        if self.claimed_again:
            free = or_(free, and_(*self.held_by(holder)))
        if self.max_attempts is not None:
            where = (*where, self.attempts < self.max_attempts)
        changes: dict[str, Any] = {self.holder.key: holder, self.time.key: time}
        if self.status is not None:
            changes[self.status.key] = self.running
        if self.attempts is not None:
            changes[self.attempts.key] = self.attempts + 1
        changes.update(values or {})
        statement = update(self.table).where(self.key == row_id, free, *where)
        return affected(session.execute(statement.values(changes))) == 1

    def renew(self, session: Session, row_id: Any, holder: str, time: datetime) -> bool:
        """Set the time of a row ``holder`` holds (a heartbeat, a later expiry); False when
        it holds it no longer."""
        return self.change(session, row_id, holder, {self.time.key: time})

    def release(
        self, session: Session, row_id: Any, holder: str, values: Mapping[str, Any] | None = None
    ) -> bool:
        """Hand a row ``holder`` holds back (a run goes back to the queue), with ``values``.
        A run handed back (its server stopping) was no try: its claim is not counted."""
        changes: dict[str, Any] = {self.holder.key: None}
        if self.status is not None:
            changes[self.status.key] = QUEUED
        else:
            changes[self.time.key] = None
        if self.attempts is not None:
            changes[self.attempts.key] = self.attempts - 1
        return self.change(session, row_id, holder, {**changes, **(values or {})})

    def finish(
        self,
        session: Session,
        row_id: Any,
        holder: str,
        status: str,
        now: datetime,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Record that ``holder``'s run of the row ended with ``status`` (and ``values``)."""
        changes = {self.status.key: status, "finished_at": now, self.holder.key: None}
        return self.change(session, row_id, holder, {**changes, **(values or {})})

    def fail(self, session: Session, row_id: Any, holder: str, reason: str, now: datetime) -> bool:
        """Record that ``holder``'s run of the row failed for good, and why."""
        return self.finish(session, row_id, holder, FAILED, now, {"error": reason})

    def fail_exhausted(
        self,
        session: Session,
        cutoff: datetime,
        now: datetime,
        reason: str,
        max_attempts: int | None = None,
    ) -> int:
        """Fail the free runs claimed ``max_attempts`` times (by default the cap the rows
        have) whose servers died in them each time: the run may be what kills them. How many."""
        most = max_attempts if max_attempts is not None else self.max_attempts
        if most is None:
            return 0
        statement = (
            update(self.table)
            .where(self.free(cutoff), self.attempts >= most)
            .values(
                {
                    self.status.key: FAILED,
                    "finished_at": now,
                    self.holder.key: None,
                    "error": reason,
                }
            )
        )
        return affected(session.execute(statement))

    def change(self, session: Session, row_id: Any, holder: str, values: Mapping[str, Any]) -> bool:
        """Set ``values`` on a row ``holder`` holds; False when it holds it no longer."""
        statement = update(self.table).where(self.key == row_id, *self.held_by(holder))
        return affected(session.execute(statement.values(dict(values)))) == 1
