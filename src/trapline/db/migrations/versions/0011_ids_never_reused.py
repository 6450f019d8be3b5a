"""ids are never reused on SQLite: AUTOINCREMENT on every table numbered by an ``id``

Without AUTOINCREMENT SQLite numbers a new row max(id) + 1, so the id of the newest row,
once deleted, went to the next row made, in any project. A job deleted and made again under
the same id in another project was then served to the first project's workers (a process
still remembered they might work on "job 12"). With AUTOINCREMENT SQLite keeps the highest
id ever handed out in ``sqlite_sequence`` and never goes below it. PostgreSQL's sequences
already never hand out an id twice: nothing changes there.

SQLite cannot add AUTOINCREMENT to a table, so each table is rebuilt from its own schema text
(the stored ``CREATE TABLE`` with the primary key moved onto the column), its rows copied
over, and its indexes made again from their stored text, so every column, default, check,
foreign key and partial index stays exactly as it was. Foreign keys are not enforced during
migrations (env.py), so dropping the old table takes nothing with it. Each table's sequence
starts at its highest id now; ids of rows deleted before this migration cannot be known.

There is no way back to reused ids: the downgrade leaves the tables as they are (the code of
0008 works on them unchanged).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-22
"""

import re
from collections.abc import Sequence

from alembic import op
from sqlalchemy import text

from trapline.db.sqlite_rebuild import rebuild_table

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The id column as SQLAlchemy writes it, and the table-level key it comes with.
ID_COLUMN = re.compile(r"(?m)^(\s*)id INTEGER NOT NULL,")
ID_KEY = re.compile(r",\s*(?:CONSTRAINT \"?\w+\"? )?PRIMARY KEY \(\"?id\"?\)")


def upgrade() -> None:
    connection = op.get_bind()
    if connection.dialect.name != "sqlite":
        return
    tables = connection.execute(text(
        "SELECT name, sql FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
        "AND name != 'alembic_version' ORDER BY name"
    )).all()  # fmt: skip
    for name, sql in tables:
        if _numbered_by_id(name) and "AUTOINCREMENT" not in sql.upper():
            rebuild_table(connection, name, _autoincrement)


def downgrade() -> None:
    pass


def _numbered_by_id(table: str) -> bool:
    """Whether the table's primary key is its one INTEGER column ``id`` (its rowid)."""
    columns = op.get_bind().execute(text(f'PRAGMA table_info("{table}")')).all()
    key = [(c.name, c.type.upper()) for c in columns if c.pk]
    return key == [("id", "INTEGER")]


def _autoincrement(sql: str) -> str:
    """The table's schema with the primary key moved onto the id column, AUTOINCREMENT."""
    rebuilt, columns = ID_COLUMN.subn(r"\1id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT,", sql)
    rebuilt, keys = ID_KEY.subn("", rebuilt)
    if (columns, keys) != (1, 1):
        raise RuntimeError(f"migration 0011: a table's schema is not as expected: {sql}")
    return rebuilt
