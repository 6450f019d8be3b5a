"""classifiers: how far a fit has got (its stage, and the share done)

Revision ID: 0053
Revises: 0052
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0053"
down_revision: str | None = "0052"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("classifiers", sa.Column("stage", sa.String(length=120), nullable=True))
    op.add_column("classifiers", sa.Column("progress", sa.Float(), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild would lose the table's AUTOINCREMENT.
    op.execute("ALTER TABLE classifiers DROP COLUMN progress")
    op.execute("ALTER TABLE classifiers DROP COLUMN stage")
