"""Plain driver statements for the dispatch hot path.

Every worker batch claims tasks and stores a few hundred result rows. Through SQLAlchemy's
expression layer each statement is compiled from a cache and each row's parameters pass
through per-column processing; at thousands of images a second that is most of the server's
time. The statements here are written once in SQL and sent to the driver as they are, with
parameters already in the form the driver takes.

SQL is written with ``?`` placeholders and no literal ``?`` or ``%``; on PostgreSQL the
placeholders become psycopg's ``%s``.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.orm import Session

from trapline.db.types import UTCDateTime

_JSON = json.JSONEncoder(separators=(",", ":"))
#: Parameters per multi-row statement (SQLite allows 32,766, PostgreSQL 65,535).
MAX_PARAMETERS = 30_000


class Plain:
    """Plain statements on the connection of one session's transaction."""

    def __init__(self, session: Session) -> None:
        self.connection: Connection = session.connection()
        dialect = self.connection.dialect
        self.postgres = dialect.name == "postgresql"
        self._time = _time_processor(dialect)

    def rows(
        self, sql: str, params: Sequence[Any] = (), *, among: Sequence[Any] = ()
    ) -> list[tuple[Any, ...]]:
        """The rows a statement answers (a query, or a change with RETURNING).

        ``{among}`` in the SQL becomes one placeholder per value of ``among``, whose values
        follow ``params``: ``WHERE id IN ({among})``.
        """
        if among:
            sql = sql.format(among=", ".join("?" * len(among)))
        native = _native(sql, self.postgres)
        result = self.connection.exec_driver_sql(native, (*params, *among))
        return [tuple(row) for row in result.all()]

    def many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        """Run a statement once per parameter row (executemany)."""
        if rows:
            self.connection.exec_driver_sql(_native(sql, self.postgres), list(rows))

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
        """Insert rows with multi-row VALUES statements (one per few thousand parameters)."""
        if not rows:
            return
        mark = "%s" if self.postgres else "?"
        one = "(" + ", ".join([mark] * len(columns)) + ")"
        head = f"INSERT INTO {table} ({', '.join(columns)}) VALUES "  # noqa: S608 - our names
        per_statement = max(1, MAX_PARAMETERS // len(columns))
        for start in range(0, len(rows), per_statement):
            chunk = rows[start : start + per_statement]
            params = tuple(value for row in chunk for value in row)
            self.connection.exec_driver_sql(head + ", ".join([one] * len(chunk)), params)

    def time(self, moment: datetime | None) -> Any:
        """An instant as the driver stores it in a UTCDateTime column."""
        return self._time(moment) if self._time else moment

    @staticmethod
    def json(value: object) -> str | None:
        """A JSON column's value; None is SQL NULL."""
        return None if value is None else _JSON.encode(value)


@lru_cache(maxsize=256)
def _native(sql: str, postgres: bool) -> str:
    return sql.replace("?", "%s") if postgres else sql


@lru_cache(maxsize=4)
def _time_processor(dialect: Dialect) -> Callable[[Any], Any] | None:
    return UTCDateTime().bind_processor(dialect)
