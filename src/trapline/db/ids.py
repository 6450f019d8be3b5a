"""Reserving primary keys ahead of bulk inserts that must refer to the rows they create."""

from __future__ import annotations

from sqlalchemy import Table, func, select, text
from sqlalchemy.orm import Session

from trapline.db.plain import Plain

#: Each table's id sequence on PostgreSQL, looked up once: the lookup (a catalog search)
#: costs several times the reservation itself.
_SEQUENCES: dict[str, str] = {}


def reserve_ids(session: Session, *wanted: tuple[Table, int]) -> list[list[int]]:
    """Fresh ids for each (table, count), for inserts in the same transaction.

    PostgreSQL draws them from each column's sequence, all in one statement. On SQLite the
    writing transaction holds the database's only write lock (BEGIN IMMEDIATE), so ids above
    the current maximum are free until it commits.
    """
    if session.get_bind().dialect.name != "postgresql":
        reserved = []
        for table, count in wanted:
            top = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
            reserved.append(list(range(top + 1, top + 1 + count)))
        return reserved
    params: list[object] = []
    for n, (table, count) in enumerate(wanted):
        params += [n, _sequence(session, table), count]
    one = "SELECT ?::int, nextval(?::regclass) FROM generate_series(1, ?)"
    rows = Plain(session).rows(" UNION ALL ".join([one] * len(wanted)), params)
    by_table: list[list[int]] = [[] for _ in wanted]
    for n, value in rows:
        by_table[n].append(value)
    return by_table


def _sequence(session: Session, table: Table) -> str:
    sequence = _SEQUENCES.get(table.name)
    if sequence is None:
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
        _SEQUENCES[table.name] = sequence
    return sequence
