"""Engines and transactions: SQLite tuned for concurrent writers, PostgreSQL via psycopg 3."""

from __future__ import annotations

import itertools
import logging
import select
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from psycopg.pq import ConnStatus
from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError, DisconnectionError, InvalidRequestError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session, sessionmaker

from trapline.db.plain import CHANGES, count_change
from trapline.db.repositories import Repos
from trapline.db.request_reads import RequestReads
from trapline.db.time_limit import current_limit, limit_statements, timed_out
from trapline.db.types import ACCESS_CHANGED
from trapline.errors import QueryTooLong, Unavailable
from trapline.files import private_file

log = logging.getLogger(__name__)


def make_engine(
    url: str,
    *,
    pool_size: int = 10,
    max_overflow: int = 20,
    pool_timeout: float = 10.0,
    sqlite_busy_timeout: float = 30.0,
) -> Engine:
    """An engine for ``url`` with the settings each database needs."""
    if url.startswith("sqlite"):
        _create_private_sqlite_file(url)
        engine = create_engine(
            url, connect_args={"timeout": sqlite_busy_timeout, "check_same_thread": False}
        )
        _tune_sqlite(engine, sqlite_busy_timeout)
        event.listen(engine, "before_cursor_execute", _count_change)
        limit_statements(engine)
        return engine
    engine = create_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_timeout=pool_timeout,
        pool_recycle=1800,
        connect_args={"connect_timeout": 5},
    )
    event.listen(engine, "checkout", _hung_up)
    event.listen(engine, "before_cursor_execute", _count_change)
    limit_statements(engine)  # after _hung_up: only a live connection is given its limit
    return engine


def _count_change(connection: Any, _cursor: Any, sql: str, *_: Any) -> None:
    # Statements sent through SQLAlchemy; Plain counts those it sends itself.
    count_change(connection.info, sql)


def _create_private_sqlite_file(url: str) -> None:
    """Create a new SQLite database file 0600 before SQLite does (it would follow the umask).

    SQLite makes the ``-wal`` and ``-shm`` files with the mode of the database file.
    """
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():  # otherwise SQLite reports the missing folder, as before
        private_file(path)


def _hung_up(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Replace a pooled PostgreSQL connection whose backend is gone (pg_terminate_backend,
    a restart, a failover) before it is used.

    A backend that ends sends a last message and closes the socket, so an idle connection
    with something to read has been hung up on. Looking costs a poll of the socket, where
    SQLAlchemy's pre-ping costs a round trip on every checkout (three or four for each batch
    a worker claims and answers). A connection lost without a word fails its statement and
    leaves the pool then (``Plain``, SQLAlchemy).
    """
    pgconn = dbapi_connection.pgconn
    if pgconn.status != ConnStatus.OK:
        raise DisconnectionError("the database closed this connection")
    # poll, not select: select refuses descriptors past 1024, which a busy server reaches.
    poller = select.poll()
    poller.register(pgconn.socket, select.POLLIN)
    if poller.poll(0):  # something to read, or hung up
        raise DisconnectionError("the database closed this connection")


def _tune_sqlite(engine: Engine, busy_timeout: float) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Autocommit at the driver level: we emit BEGIN ourselves (see _on_begin).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        # Writers take the write lock up front so concurrent writers queue on busy_timeout
        # instead of failing with "database is locked" when a read lock is upgraded.
        mode = connection.get_execution_options().get("sqlite_begin", "DEFERRED")
        connection.exec_driver_sql(f"BEGIN {mode}")


class Database:
    """The database of one process: short read and write transactions yielding repositories."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.is_sqlite = engine.dialect.name == "sqlite"
        self._sessions = sessionmaker(engine, expire_on_commit=False, autoflush=False)
        # SQLite has one writer at a time. Writers of this process queue here and take turns
        # at once; left to SQLite's busy handler they would poll with growing sleeps.
        self._write_turn = threading.Lock() if self.is_sqlite else None
        #: Moves on after every commit that changed access (``access_changed``): what was
        #: remembered under an older version is void (``AccessMemo``).
        self.access_version = 0
        self._access_versions = itertools.count(1)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> Database:
        """A Database over a new engine for ``url``."""
        return cls(make_engine(url, **options))

    def for_request(self) -> RequestReads:
        """This database as one web request reads it (``RequestReads``)."""
        return RequestReads(self)

    @contextmanager
    def read(self) -> Iterator[Repos]:
        """A read-only transaction."""
        with self._transaction(write=False) as repos:
            yield repos

    @contextmanager
    def streaming_read(self) -> Iterator[Repos]:
        """A read-only transaction whose statements may stream their rows (``yield_per``):
        on PostgreSQL a transaction block (not ``read``'s autocommit), which server-side
        cursors need."""
        with self._session(write=False) as repos:
            yield repos

    @contextmanager
    def write(self) -> Iterator[Repos]:
        """A writing transaction, committed when the block ends without an error."""
        with self._transaction(write=True) as repos:
            yield repos

    @contextmanager
    def statement(self) -> Iterator[Repos]:
        """Repositories for a block whose one change is a single statement (reads besides
        it are fine), which commits by itself.

        On PostgreSQL the block runs without a transaction around it, so BEGIN and COMMIT
        are two round trips fewer (a claim of every worker batch is such a block). A second
        changing statement would commit on its own, so it is refused (``SecondChange``,
        raised before it is sent, on both databases): use ``write``. On SQLite the block is
        a writing transaction.
        """
        with self._transaction(write=True, autocommit=True) as repos:
            info = repos.session.connection().info
            info[CHANGES] = 0
            try:
                yield repos
            finally:
                # The info belongs to the pooled connection, which outlives this block.
                info.pop(CHANGES, None)

    @contextmanager
    def _transaction(self, *, write: bool, autocommit: bool = False) -> Iterator[Repos]:
        if write and self._write_turn is not None:
            with self._write_turn, self._session(write=True) as repos:
                yield repos
            return
        # Reads need no transaction on PostgreSQL either: under READ COMMITTED each statement
        # takes its own snapshot anyway, and BEGIN and ROLLBACK would be two round trips.
        with self._session(write=write, autocommit=autocommit or not write) as repos:
            yield repos

    @contextmanager
    def _session(self, *, write: bool, autocommit: bool = False) -> Iterator[Repos]:
        session: Session = self._sessions()
        try:
            try:
                if self.is_sqlite and write:
                    session.connection(execution_options={"sqlite_begin": "IMMEDIATE"})
                elif autocommit and not self.is_sqlite:
                    session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
                else:
                    session.connection()
            except (OperationalError, PoolTimeout, InvalidRequestError) as exc:
                # InvalidRequestError, on a session that has done nothing yet: the pool found
                # a new connection hung up on too ("This connection is closed": it tries twice),
                # as when backends are being ended faster than it reconnects.
                raise _unavailable(exc) from exc
            yield Repos(session)
            if write:
                session.commit()
                if session.info.pop(ACCESS_CHANGED, False):
                    # After the commit: a read that starts before it may still see the old
                    # state, and must find its answer void.
                    self.access_version = next(self._access_versions)
            else:
                session.rollback()
        except (OperationalError, PoolTimeout) as exc:
            _roll_back(session, exc)
            raise _unavailable(exc) from exc
        except BaseException as exc:
            _roll_back(session, exc)
            raise
        finally:
            session.close()

    def ping(self) -> None:
        """Raise Unavailable when the database does not answer."""
        try:
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        # A pool whose connections are all in use, or whose new ones were hung up on too.
        except (DBAPIError, PoolTimeout, InvalidRequestError) as exc:
            raise _unavailable(exc) from exc

    def refresh_statistics(self, table: str) -> None:
        """Have PostgreSQL sample ``table`` again for its planner (SQLite plans without)."""
        if self.is_sqlite:
            return
        try:
            with self.engine.connect() as connection:
                connection.execute(
                    text(f"ANALYZE {self.engine.dialect.identifier_preparer.quote(table)}")
                )
                connection.commit()
        except DBAPIError as exc:
            # Only plans suffer; autovacuum refreshes them later.
            log.warning("could not refresh the statistics of %s: %s", table, exc)

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()


def _roll_back(session: Session, cause: BaseException) -> None:
    """Roll ``session`` back after ``cause``. Where the connection was lost meanwhile the
    rollback fails too: whatever the block found, the database is what failed (Unavailable),
    not a driver error escaping as a server error."""
    try:
        session.rollback()
    except (OperationalError, PoolTimeout) as lost:
        raise _unavailable(lost) from cause


def _unavailable(exc: Exception) -> Unavailable:
    if timed_out(exc):
        # A request asked for more than its time limit allows: what to narrow is its to say.
        limit = current_limit()
        statement = " ".join(str(getattr(exc, "statement", "")).split())[:300]
        log.warning("a query ran past the %s s a request may take: %s", limit, statement)
        return QueryTooLong(
            f"this request's query took longer than the {limit or 0:g} s a request may take "
            "and was stopped; ask for less at a time (a shorter date range, one deployment, "
            "fewer items per page) and try again",
            retry_after=10,
        )
    log.warning("database unavailable: %s", exc)
    return Unavailable(
        "the database is unavailable or busy; retry in a moment", code="database_unavailable"
    )
