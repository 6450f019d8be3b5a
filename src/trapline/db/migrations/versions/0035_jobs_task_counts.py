"""jobs.task_counts: a finished job's tasks by state, kept when it finishes

The project page and the jobs list counted each job's tasks by state on every load: over a
second for a project whose jobs hold millions of tasks. A finished job's counts no longer
change, so they are kept when it finishes; here they are counted for the jobs already done.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JOBS = sa.table("jobs", sa.column("id", sa.Integer()), sa.column("task_counts", sa.JSON()))
_FINAL = ("succeeded", "completed_with_errors", "failed", "canceled")


def upgrade() -> None:
    op.add_column("jobs", sa.Column("task_counts", sa.JSON(), nullable=True))
    bind = op.get_bind()
    finished = bind.execute(
        sa.text("SELECT id FROM jobs WHERE status IN :final").bindparams(
            sa.bindparam("final", expanding=True)
        ),
        {"final": list(_FINAL)},
    )
    for (job_id,) in list(finished):
        counts = bind.execute(
            sa.text("SELECT status, count(*) FROM tasks WHERE job_id = :job GROUP BY status"),
            {"job": job_id},
        )
        bind.execute(
            sa.update(_JOBS)
            .where(_JOBS.c.id == job_id)
            .values(task_counts={status: int(n) for status, n in counts})
        )


def downgrade() -> None:
    op.execute("ALTER TABLE jobs DROP COLUMN task_counts")
