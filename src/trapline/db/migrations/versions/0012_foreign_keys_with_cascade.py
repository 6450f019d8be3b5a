"""foreign keys back on tasks, analyses and annotations, with ON DELETE CASCADE

Migrations 0007 and 0008 dropped these keys for dispatch speed, and the repositories deleted
the rows by hand, under lock-ordering rules every later change had to keep. The database
keeps them again (decision 017): a task goes with its job or its image, an analysis with its
image, an annotation with its analysis or its parent; deleting a job or a task detaches the
results they made. Pipelines and algorithms are never deleted, and their keys say so
(RESTRICT). A partial index on ``annotations.parent_id`` lets the parent key's cascade find
an annotation's children without reading the table.

Rows the keyless years may have left pointing at nothing are first removed or detached, as
the keys would have done. On SQLite the three tables are rebuilt from their stored schema
text with the keys added, so they keep AUTOINCREMENT and the highest id each ever handed out.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-23
"""

import re
from collections.abc import Sequence
from functools import partial
from typing import NamedTuple

from alembic import op
from sqlalchemy import text

from trapline.db.sqlite_rebuild import rebuild_table

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


class Key(NamedTuple):
    table: str
    column: str
    parent: str
    on_delete: str

    @property
    def name(self) -> str:
        return f"fk_{self.table}_{self.column}_{self.parent}"

    @property
    def clause(self) -> str:
        """The key as SQLAlchemy writes it in a SQLite ``CREATE TABLE``."""
        return (
            f"CONSTRAINT {self.name} FOREIGN KEY({self.column}) REFERENCES {self.parent} (id) "
            f"ON DELETE {self.on_delete}"
        )


#: Parents before children: an orphan removed here may orphan rows of a later table.
KEYS = [
    Key("tasks", "job_id", "jobs", "CASCADE"),
    Key("tasks", "image_id", "images", "CASCADE"),
    Key("analyses", "image_id", "images", "CASCADE"),
    Key("analyses", "job_id", "jobs", "SET NULL"),
    Key("analyses", "task_id", "tasks", "SET NULL"),
    Key("analyses", "pipeline_id", "pipelines", "RESTRICT"),
    Key("annotations", "analysis_id", "analyses", "CASCADE"),
    Key("annotations", "parent_id", "annotations", "CASCADE"),
    Key("annotations", "algorithm_id", "algorithms", "RESTRICT"),
]
TABLES = ("tasks", "analyses", "annotations")
#: Condition of the index the parent key's cascade looks children up by.
HAS_PARENT = "parent_id IS NOT NULL"
#: The end of a schema as SQLAlchemy writes it: the last line, then the closing parenthesis.
END = re.compile(r"\n\)\s*$")


def upgrade() -> None:
    _remove_orphans()
    if op.get_bind().dialect.name == "sqlite":
        for table in TABLES:
            rebuild_table(op.get_bind(), table, partial(_with_keys, table=table))
    else:
        for key in KEYS:
            op.create_foreign_key(
                key.name, key.table, key.parent, [key.column], ["id"], ondelete=key.on_delete
            )
    op.create_index(
        "ix_annotations_parent_id",
        "annotations",
        ["parent_id"],
        sqlite_where=text(HAS_PARENT),
        postgresql_where=text(HAS_PARENT),
    )


def downgrade() -> None:
    op.drop_index("ix_annotations_parent_id", table_name="annotations")
    if op.get_bind().dialect.name == "sqlite":
        for table in reversed(TABLES):
            rebuild_table(op.get_bind(), table, partial(_without_keys, table=table))
    else:
        for key in reversed(KEYS):
            op.drop_constraint(key.name, key.table, type_="foreignkey")


def _remove_orphans() -> None:
    """Delete every row whose parent is gone where the key cascades, else detach it.

    An analysis or annotation naming a pipeline or algorithm that is gone loses only that
    name: deleting the result for it would lose more than the key protects.
    """
    connection = op.get_bind()
    for key in KEYS:
        orphaned = (
            f"{key.column} IS NOT NULL AND NOT EXISTS "  # noqa: S608 - our table names
            f"(SELECT 1 FROM {key.parent} p WHERE p.id = {key.table}.{key.column})"
        )
        if key.on_delete != "CASCADE":
            connection.execute(text(f"UPDATE {key.table} SET {key.column} = NULL WHERE {orphaned}"))  # noqa: S608
            continue
        # A deleted annotation may orphan its own children: go on until none is left.
        while connection.execute(text(f"DELETE FROM {key.table} WHERE {orphaned}")).rowcount:  # noqa: S608
            pass


def _with_keys(sql: str, table: str) -> str:
    clauses = "".join(f", \n\t{key.clause}" for key in KEYS if key.table == table)
    rebuilt, ends = END.subn(f"{clauses}\n)", sql)
    if ends != 1 or "FOREIGN KEY" in sql:
        raise RuntimeError(f"migration 0012: the schema of table {table} is not as expected: {sql}")
    return rebuilt


def _without_keys(sql: str, table: str) -> str:
    clauses = "".join(f", \n\t{key.clause}" for key in KEYS if key.table == table)
    if clauses not in sql:
        raise RuntimeError(f"migration 0012: the schema of table {table} is not as expected: {sql}")
    return sql.replace(clauses, "")
