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

    PostgreSQL draws them from each column's sequence, all in one statement. On SQLite they
    come after the highest id the table ever handed out (``sqlite_sequence``, which its
    AUTOINCREMENT keeps), and the sequence moves past them, so an id reserved and never
    used, or used and deleted, is never handed out again. The writing transaction holds the
    database's only write lock (BEGIN IMMEDIATE), so nobody else draws meanwhile.
    """
    if session.get_bind().dialect.name != "postgresql":
        return [_reserve_on_sqlite(session, table, count) for table, count in wanted]
    params: list[object] = []
    for n, (table, count) in enumerate(wanted):
        params += [n, _sequence(session, table), count]
    one = "SELECT ?::int, nextval(?::regclass) FROM generate_series(1, ?)"
    rows = Plain(session).rows(" UNION ALL ".join([one] * len(wanted)), params)
    by_table: list[list[int]] = [[] for _ in wanted]
    for n, value in rows:
        by_table[n].append(value)
    return by_table


def _reserve_on_sqlite(session: Session, table: Table, count: int) -> list[int]:
    plain = Plain(session)
    issued = plain.rows("SELECT seq FROM sqlite_sequence WHERE name = ?", (table.name,))
    # The highest id present too, in case the sequence has no row for the table yet.
    present = session.scalar(select(func.coalesce(func.max(table.c.id), 0))) or 0
    top = max(int(issued[0][0]) if issued else 0, present)
    if issued:
        plain.rows("UPDATE sqlite_sequence SET seq = ? WHERE name = ?", (top + count, table.name))
    else:
        plain.rows(
            "INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)", (table.name, top + count)
        )
    return list(range(top + 1, top + 1 + count))


def _sequence(session: Session, table: Table) -> str:
    sequence = _SEQUENCES.get(table.name)
    if sequence is None:
        sequence = session.scalar(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
        _SEQUENCES[table.name] = sequence
    return sequence
