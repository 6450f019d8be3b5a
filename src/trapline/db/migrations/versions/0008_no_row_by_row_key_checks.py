"""no foreign keys on tasks, analyses and annotations

Every row of these tables is inserted by the thousand (a job's tasks) or by the hundred per
second (results), and a foreign key is checked row by row: a trigger, a lookup and a lock
of the parent row. Without the five keys below, PostgreSQL spent 25-35% less CPU per image
in the 4-worker dispatch benchmark, and a 100,000-image job was queued in 1.8-2.2 s instead
of 3.3-3.4 s. The repositories now delete these rows with their job, image or project, and
an enqueue locks its project and job once (decision 014).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: (table, constraint, column, parent table, ON DELETE), in the order they are dropped.
KEYS = [
    ("annotations", "fk_annotations_analysis_id_analyses", "analysis_id", "analyses", "CASCADE"),
    ("analyses", "fk_analyses_task_id_tasks", "task_id", "tasks", "SET NULL"),
    ("analyses", "fk_analyses_image_id_images", "image_id", "images", "CASCADE"),
    ("tasks", "fk_tasks_image_id_images", "image_id", "images", "CASCADE"),
    ("tasks", "fk_tasks_job_id_jobs", "job_id", "jobs", "CASCADE"),
]


def upgrade() -> None:
    for table in ("annotations", "analyses", "tasks"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, name, *_ in KEYS:
                if owner == table:
                    batch_op.drop_constraint(name, type_="foreignkey")


def downgrade() -> None:
    # Rows whose parent is gone (possible once the keys were dropped, through other tools)
    # are removed or detached first, parents before children, as the keys would have.
    for table, _, column, parent, on_delete in reversed(KEYS):
        orphaned = f"{column} IS NOT NULL AND {column} NOT IN (SELECT id FROM {parent})"  # noqa: S608
        if on_delete == "CASCADE":
            op.execute(f"DELETE FROM {table} WHERE {orphaned}")  # noqa: S608
        else:
            op.execute(f"UPDATE {table} SET {column} = NULL WHERE {orphaned}")  # noqa: S608
    for table in ("tasks", "analyses", "annotations"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            for owner, name, column, parent, on_delete in reversed(KEYS):
                if owner == table:
                    batch_op.create_foreign_key(name, parent, [column], ["id"], ondelete=on_delete)
