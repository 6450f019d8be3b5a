"""Plain driver statements for the dispatch hot path.

Every worker batch claims tasks and stores a few hundred result rows. Through SQLAlchemy's
expression layer each statement is compiled from a cache and each row's parameters pass
through per-column processing; at thousands of images a second that is most of the server's
time. The statements here are written once in SQL and sent to the driver as they are, with
parameters already in the form the driver takes.

SQL is written with ``?`` placeholders and no literal ``?``, ``%`` or braces; on PostgreSQL
the placeholders become psycopg's ``%s``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, MutableMapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import lru_cache
from typing import Any

from pydantic_core import to_json
from sqlalchemy import BigInteger, ColumnElement, Table, any_, literal
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import InstrumentedAttribute, Session

from trapline.db.types import UTCDateTime, in_utc

#: Parameters per multi-row statement on SQLite (it allows 32,766).
MAX_PARAMETERS = 30_000
#: Key, in the info of a connection running a ``Database.statement()`` block, of the changes
#: sent so far.
CHANGES = "trapline.changes"
#: A statement that changes rows (a CTE's SELECT … FOR UPDATE is not one).
_CHANGE = re.compile(
    r"\s*(?:INSERT|UPDATE|DELETE|MERGE|COPY)\b"
    r"|\s*WITH\b.*\b(?:INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM)\b",
    re.IGNORECASE | re.DOTALL,
)


class SecondChange(RuntimeError):
    """A ``Database.statement()`` block sent a second changing statement."""


def count_change(info: MutableMapping[Any, Any], sql: str) -> None:
    """Count a statement about to be sent on a connection; refuse a second change in a
    ``Database.statement()`` block, where each statement commits by itself on PostgreSQL."""
    if CHANGES not in info or not _CHANGE.match(sql):
        return
    if info[CHANGES]:
        raise SecondChange(
            "a Database.statement() block may send one changing statement, and this is a "
            f"second ({sql.strip()[:60]!r}); on PostgreSQL each would commit on its own: use "
            "Database.write() for changes that belong together"
        )
    info[CHANGES] = 1


class Plain:
    """Plain statements on the connection of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.connection: Connection = session.connection()
        self.dialect = self.connection.dialect
        self.postgres = self.dialect.name == "postgresql"
        self._time = _time_processor(self.dialect)

    def rows(
        self, sql: str, params: Sequence[Any] = (), *, among: Sequence[int] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows a statement answers (a query, or a change with RETURNING).

        ``IN ({among})`` in the SQL stands for the ids of ``among``, whose values follow
        ``params``. On PostgreSQL it becomes ``= ANY(array)``, one parameter, so the
        statement's text (and its prepared plan) is the same for any number of ids.
        """
        values: tuple[Any, ...] = tuple(params)
        if "{among}" in sql and self.postgres:
            sql = sql.replace("IN ({among})", "= ANY(?::bigint[])")
            values = (*values, array_literal(among))
        elif "{among}" in sql:
            sql, values = sql.format(among=", ".join("?" * len(among))), (*values, *among)
        with self._cursor(sql, binary=self.postgres) as cursor:
            cursor.execute(_native(sql, self.postgres), values)
            return cursor.fetchall() if cursor.description else []

    def insert(self, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows in bulk: COPY on PostgreSQL, multi-row VALUES on SQLite (one statement
        per few thousand parameters)."""
        if not rows:
            return
        # Table and column names are ours, never a caller's; values go as parameters.
        if self.postgres:
            self._copy(f"COPY {table.name} ({', '.join(columns)}) FROM STDIN", rows)
            return
        head = f"INSERT INTO {table.name} ({', '.join(columns)}) "
        one = "(" + ", ".join("?" * len(columns)) + ")"
        per_statement = max(1, MAX_PARAMETERS // len(columns))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = tuple(value for row in chunk for value in row)
            sql = head + "VALUES " + ", ".join([one] * len(chunk))
            with self._cursor(sql) as cursor:
                cursor.execute(sql, params)

    def _copy(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        # COPY costs a fraction of an INSERT of arrays at both ends: psycopg formats the rows
        # in C, where it quotes array text in Python, and PostgreSQL parses no arrays.
        with self._cursor(sql) as cursor, cursor.copy(sql) as copy:
            for row in rows:
                copy.write_row(row)

    @contextmanager
    def _cursor(self, sql: str, *, binary: bool = False) -> Iterator[Any]:
        """A cursor of the driver's on the transaction's connection; ``binary`` (psycopg's
        only) has PostgreSQL send the rows' values in binary, not as text: neither end then
        writes or parses numbers as digits (read as text, an export's annotations took 1.7
        times the CPU here and 1.4 times as long).

        Going around SQLAlchemy's execution (events, result objects) saves a tenth of a
        millisecond per statement; its errors are wrapped here as SQLAlchemy's would be, and
        a lost connection leaves the pool.
        """
        count_change(self.connection.info, sql)
        raw = self.connection.connection
        cursor = raw.cursor(binary=True) if binary else raw.cursor()
        try:
            yield cursor
        except self.dialect.loaded_dbapi.Error as exc:
            lost = self.dialect.is_disconnect(exc, raw.dbapi_connection, cursor)
            if lost:
                self.connection.invalidate(exc)
            raise DBAPIError.instance(
                sql, None, exc, self.dialect.loaded_dbapi.Error, connection_invalidated=lost
            ) from exc
        finally:
            cursor.close()

    @staticmethod
    def instant(value: Any) -> datetime | None:
        """A UTCDateTime column's value as the driver answers it, as an aware datetime.

        SQLite answers text in UTC without a zone; parsed with the zone written on, it takes
        a sixth of parsing it and then setting the zone (``datetime.replace`` is slow).
        """
        if value is None:
            return None
        if isinstance(value, str):
            return datetime.fromisoformat(value + "+00:00")
        return in_utc(value)

    def time(self, moment: datetime | None) -> Any:
        """An instant as the driver stores it in a UTCDateTime column."""
        return self._time(moment) if self._time else moment

    @staticmethod
    def json(value: object) -> str | None:
        """A JSON column's value; None is SQL NULL.

        pydantic-core writes it in a fifth of the json module's time, and writes a float that
        is not finite as null (PostgreSQL's json type has no NaN or Infinity).
        """
        return None if value is None else to_json(value, inf_nan_mode="null").decode()


def array_literal(numbers: Iterable[int]) -> str:
    """PostgreSQL's text form of an integer array, for a ``?::bigint[]`` parameter.

    psycopg adapts a list element by element in Python (~60 µs for 64 ids); this string
    takes a sixth of that.
    """
    return "{" + ",".join(map(str, map(int, numbers))) + "}"


def of_project(
    session: Session, column: InstrumentedAttribute[int], project_id: int
) -> ColumnElement[bool]:
    """``column = project_id`` for a walk in id order over one project's rows by the index on
    (project id, id): on PostgreSQL written ``= ANY(ARRAY[...])``, which the planner does not
    fold into a constant, so that ordering by (project id, id) keeps to that index. Folded, the
    planner walks the whole table's ids instead, expecting the project's rows spread evenly,
    and read through every newer row of other projects (3.4 million before the last page of a
    project's annotations, half a second)."""
    if session.get_bind().dialect.name == "postgresql":
        return column == any_(postgresql.array([literal(project_id, BigInteger)]))
    return column == project_id


@lru_cache(maxsize=256)
def _native(sql: str, postgres: bool) -> str:
    return sql.replace("?", "%s") if postgres else sql


@lru_cache(maxsize=4)
def _time_processor(dialect: Dialect) -> Callable[[Any], Any] | None:
    return UTCDateTime().bind_processor(dialect)
