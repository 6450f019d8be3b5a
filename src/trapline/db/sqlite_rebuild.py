"""Rebuilding a SQLite table from its own stored schema text, for migrations.

SQLite cannot add or drop a constraint in place, nor make a key AUTOINCREMENT. Alembic's batch
mode rebuilds a table from what it reflects and loses what reflection does not see, such as
AUTOINCREMENT (ids would be reused again, see migration 0011). Here the table's stored
``CREATE TABLE`` text is edited instead, so every column, default, check, key and
AUTOINCREMENT stays exactly as it was, but for the edit.

Foreign keys must not be enforced while a table is rebuilt (the migrations' env.py turns them
off): dropping the old table would otherwise take the rows referring to it by cascade.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection

#: The name a table is rebuilt under before it takes its old name back.
REBUILT = "_trapline_rebuilt"


def rebuild_table(connection: Connection, table: str, edit: Callable[[str], str]) -> None:
    """Rebuild ``table`` from its stored ``CREATE TABLE`` text as ``edit`` changes it.

    The rows are copied over as they are (``edit`` must keep the columns and their order), the
    indexes and triggers are made again from their own stored text, and the highest id the
    table ever handed out (``sqlite_sequence``) is kept, or taken from its rows when the table
    had none.
    """
    sql = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = :t"), {"t": table}
    ).scalar_one()
    head = re.compile(rf'^CREATE TABLE\s+"?{re.escape(table)}"?\s*\(')
    renamed, heads = head.subn(f"CREATE TABLE {REBUILT} (", sql, count=1)
    if heads != 1:
        raise RuntimeError(f"the schema of table {table} is not as expected: {sql}")
    rebuilt = edit(renamed)
    # Indexes (and any triggers) go with the old table; their stored text makes them again.
    others = connection.execute(
        text("SELECT sql FROM sqlite_master WHERE tbl_name = :t AND type IN ('index', 'trigger') "
             "AND sql IS NOT NULL"),
        {"t": table},
    ).scalars().all()  # fmt: skip
    issued = _issued(connection, table)
    connection.execute(text(rebuilt))
    connection.execute(text(f'INSERT INTO {REBUILT} SELECT * FROM "{table}"'))  # noqa: S608
    connection.execute(text(f'DROP TABLE "{table}"'))
    connection.execute(text(f'ALTER TABLE {REBUILT} RENAME TO "{table}"'))
    for statement in others:
        connection.execute(text(statement))
    if "AUTOINCREMENT" in rebuilt.upper():
        connection.execute(
            text("DELETE FROM sqlite_sequence WHERE name IN (:t, :rebuilt)"),
            {"t": table, "rebuilt": REBUILT},
        )
        seed = (
            "INSERT INTO sqlite_sequence (name, seq) "  # noqa: S608 - our table names
            f'SELECT :t, max(coalesce(max(id), 0), :issued) FROM "{table}"'
        )
        connection.execute(text(seed), {"t": table, "issued": issued})


def _issued(connection: Connection, table: str) -> int:
    """The highest id the table has handed out by AUTOINCREMENT; 0 when it has none."""
    has_sequences = connection.execute(
        text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_sequence'")
    ).first()
    if has_sequences is None:
        return 0
    seq = connection.execute(
        text("SELECT seq FROM sqlite_sequence WHERE name = :t"), {"t": table}
    ).scalar()
    return int(seq or 0)
