"""pipelines: the default threshold a registration names

Revision ID: 0018
Revises: 0017
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0018"
down_revision: str | None = "0017"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("pipelines", sa.Column("default_threshold", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the table's AUTOINCREMENT.
    op.execute("ALTER TABLE pipelines DROP COLUMN default_threshold")
