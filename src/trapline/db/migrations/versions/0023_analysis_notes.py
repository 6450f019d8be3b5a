"""analyses.note: why a completed analysis has no detections, when its pipeline said

Revision ID: 0023
Revises: 0022
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0023"
down_revision: str | None = "0022"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("analyses", sa.Column("note", sa.Text(), nullable=True))


def downgrade() -> None:
    # Both databases drop a column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE analyses DROP COLUMN note")
