"""pipelines: whether a registration classifies boxes it is given

A job may run such a pipeline over another pipeline's current boxes instead of detecting.

Revision ID: 0051
Revises: 0049
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0051"
down_revision: str | None = "0049"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "pipelines",
        sa.Column("classifies_boxes", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the table's AUTOINCREMENT.
    op.execute("ALTER TABLE pipelines DROP COLUMN classifies_boxes")
