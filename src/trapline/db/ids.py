"""Reserving primary keys ahead of bulk inserts that must refer to the rows they create."""

from __future__ import annotations

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from trapline.db.plain import Plain

#: Each table's id sequence on PostgreSQL, looked up once: the lookup (a catalog search)
#: costs several times the reservation itself.
_SEQUENCES: dict[str, str] = {}


def reserve_ids(session: Session, table: Table, count: int) -> list[int]:
    """``count`` fresh ids for ``table``, for an insert in the same transaction.

    PostgreSQL draws them from the column's sequence. On SQLite the writing transaction holds
    the database's only write lock (BEGIN IMMEDIATE), so ids above the current maximum are
    free until it commits.
    """
    if count <= 0:
        return []
    if session.get_bind().dialect.name == "postgresql":
        sequence = _SEQUENCES.get(table.name)
        if sequence is None:
            sequence = session.scalar(
                text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
            )
            _SEQUENCES[table.name] = sequence
        rows = Plain(session).rows(
            "SELECT nextval(?::regclass) FROM generate_series(1, ?)", (sequence, count)
        )
        return [row[0] for row in rows]
    top = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    return list(range(top + 1, top + 1 + count))
