"""Column types shared by the tables."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Integer, Select, event, func, select
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.types import TypeDecorator

from trapline.domain.core import paging

#: Primary keys: BIGINT identity on PostgreSQL, INTEGER PRIMARY KEY (rowid) on SQLite.
IdType = BigInteger().with_variant(Integer(), "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """An instant, stored in UTC and always returned timezone-aware (SQLite keeps no zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("UTCDateTime needs an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        return None if value is None else in_utc(value)


def in_utc(moment: datetime) -> datetime:
    """A stored instant, timezone-aware in UTC (SQLite's are stored without a zone, in UTC)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def utcnow() -> datetime:
    """The current instant, timezone-aware."""
    return datetime.now(UTC)


#: Key in a session's ``info`` set when its transaction changes who may reach what.
ACCESS_CHANGED = "trapline.access_changed"


def access_changed(session: Any) -> None:
    """Note that this transaction changes access: a token, a membership, a project or a job
    deleted or changed. Once it commits, what the process remembered of access is void
    (``Database.access_version``, ``AccessMemo``)."""
    session.info[ACCESS_CHANGED] = True


def affected(result: object) -> int:
    """Rows an UPDATE or DELETE changed (``rowcount`` is not on every result type)."""
    return int(getattr(result, "rowcount", 0) or 0)


def lock_row(
    session: Session, key: InstrumentedAttribute[int], row_id: int, *, exclusive: bool
) -> bool:
    """Lock a row by its primary ``key`` until the transaction ends; False when there is none.

    Exclusive is ``FOR UPDATE``, as a delete takes; otherwise ``FOR KEY SHARE``, as a
    foreign-key check takes: it holds off deleting the row, and nothing else. On SQLite,
    where a writing transaction keeps every other writer out, the row is only looked up.
    """
    query = select(key).where(key == row_id)
    query = query.with_for_update(read=not exclusive, key_share=not exclusive)
    return session.scalar(query) is not None


def before_commit(session: Session, key: str, handler: Callable[[Session], None]) -> set[int]:
    """The set of ids this transaction keeps under ``key`` for ``handler``, which runs just
    before it commits (and pops the set): made, and the handler listened for, the first time."""
    pending: set[int] | None = session.info.get(key)
    if pending is None:
        pending = session.info[key] = set()
        if not event.contains(session, "before_commit", handler):
            event.listen(session, "before_commit", handler)
    return pending


#: The largest id a row can have (a 64-bit key).
BIGINT_MAX = 2**63 - 1


def chunks(ids: Sequence[int], size: int = 900) -> list[list[int]]:
    """Ids in lists short enough for one ``IN`` (SQLite's bound parameter limit)."""
    values = list(ids)
    return [values[i : i + size] for i in range(0, len(values), size)]


def count_up_to(session: Session, rows: Select[Any]) -> int | None:
    """How many rows ``rows`` answers, read only as far as ``paging.COUNTED_UP_TO`` (None past
    it): a listing's count then costs the same at any size of project."""
    cap = paging.COUNTED_UP_TO
    capped = rows.limit(cap + 1).subquery()
    total = session.scalar(select(func.count()).select_from(capped)) or 0
    return total if total <= cap else None
