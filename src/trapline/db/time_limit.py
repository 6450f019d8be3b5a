"""How long the statements of a web or API request may run.

A request's work runs under ``request_time_limit(seconds)`` (the app's middleware sets it for
every HTTP request; its threads inherit it, as the event loop's executor copies the context).
Background duties, migrations and the command line run outside it, without a limit.

- PostgreSQL: its own ``statement_timeout``, set on a pooled connection when it is checked out
  for a use whose limit differs from the one it has (a request after a duty, or the other way
  round), so a connection that serves requests only is set once. Each statement is limited.
- SQLite: a progress handler, called every ``_PROGRESS_STEPS`` virtual-machine steps,
  interrupts a statement once the limit has passed since its transaction began (a request's
  transactions are a few short statements; a listener on every statement cost the result
  path ~1% of its time). Waiting for the write lock is not counted: no step runs meanwhile,
  and the count starts again when the transaction has its lock.

A statement stopped so raises ``TimedOut`` through ``Database``, which the app answers 503
(``errors.QueryTooLong``).
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

#: Seconds a statement of the current request may run; None: no limit.
_LIMIT: ContextVar[float | None] = ContextVar("trapline_statement_limit", default=None)
#: Key, in a pooled connection's info, of the ``statement_timeout`` (ms) it was given; absent
#: or None: the server's default.
_APPLIED = "trapline.statement_timeout_ms"
#: Key, in a SQLite connection's info, of the one-item list holding its statement's deadline.
_DEADLINE = "trapline.deadline"
#: SQLite virtual-machine steps between two looks at the clock: about 10 ms of a statement's
#: work. A look is Python code: the statement's thread takes the GIL back in the middle of the
#: statement, and a writer waits its turn for it holding SQLite's write lock (a results post's
#: 192 annotations alone take 12,500 steps).
_PROGRESS_STEPS = 1_000_000
#: PostgreSQL's code for a statement cancelled (by its timeout, or by a person).
_QUERY_CANCELED = "57014"


@contextmanager
def request_time_limit(seconds: float | None) -> Iterator[None]:
    """Statements sent within the block run for at most ``seconds`` (None or 0: no limit)."""
    token = _LIMIT.set(seconds or None)
    try:
        yield
    finally:
        _LIMIT.reset(token)


def current_limit() -> float | None:
    """The limit statements sent now run under (None: none)."""
    return _LIMIT.get()


def timed_out(exc: BaseException) -> bool:
    """Whether a driver error is a statement stopped by its time limit."""
    if not isinstance(exc, DBAPIError):
        return False
    cause = exc.orig
    if isinstance(cause, sqlite3.OperationalError):
        return str(cause) == "interrupted"
    return getattr(cause, "sqlstate", None) == _QUERY_CANCELED


def limit_statements(engine: Engine) -> None:
    """Have ``engine``'s statements keep the limit of the block they are sent in."""
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_connected)
        event.listen(engine, "checkout", _sqlite_checked_out)
        event.listen(engine, "begin", _sqlite_began)
    else:
        event.listen(engine, "checkout", _postgres_checked_out)


# -- PostgreSQL ---------------------------------------------------------------------------


def _postgres_checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    limit = _LIMIT.get()
    wanted = round(limit * 1000) if limit else None
    if record.info.get(_APPLIED) == wanted:
        return
    # The connection is idle here (a connection is rolled back when it is checked in); the
    # commit keeps the setting whatever becomes of the transaction that follows.
    value = "DEFAULT" if wanted is None else str(wanted)
    with dbapi_connection.cursor() as cursor:
        cursor.execute(f"SET statement_timeout = {value}")
    dbapi_connection.commit()
    record.info[_APPLIED] = wanted


# -- SQLite -------------------------------------------------------------------------------


def _sqlite_connected(dbapi_connection: Any, record: Any) -> None:
    deadline: list[float | None] = [None]
    record.info[_DEADLINE] = deadline

    def past_deadline() -> bool:
        until = deadline[0]
        return until is not None and time.monotonic() > until

    dbapi_connection.set_progress_handler(past_deadline, _PROGRESS_STEPS)


def _restart(info: Any) -> None:
    deadline = info.get(_DEADLINE)
    if deadline is not None:
        limit = _LIMIT.get()
        deadline[0] = time.monotonic() + limit if limit else None


def _sqlite_checked_out(_dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    _restart(record.info)


def _sqlite_began(connection: Any) -> None:
    # After BEGIN (IMMEDIATE: the write lock is held by now), so waiting for it is not counted.
    _restart(connection.connection.info)
