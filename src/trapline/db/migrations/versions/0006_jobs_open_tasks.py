"""jobs.open_tasks: how many of a job's tasks are queued or leased

Every result decides whether its job is done. Asking the tasks table took a scan of the job's
index entries (most of them dead until vacuum runs) or, planned from stale statistics, of the
whole table: 20-30 ms on a 30,000-task job, inside the job's lock. The count on the job row
answers in one row update; the tasks table still decides once the count says zero.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("open_tasks", sa.Integer(), nullable=False, server_default="0")
        )
    op.execute(
        "UPDATE jobs SET open_tasks = (SELECT count(*) FROM tasks WHERE tasks.job_id = jobs.id "
        "AND tasks.status IN ('queued', 'leased'))"
    )


def downgrade() -> None:
    with op.batch_alter_table("jobs", schema=None) as batch_op:
        batch_op.drop_column("open_tasks")
