"""events: how many boxes their last tracking left out

Tracking takes part at most a fixed number of one pipeline's boxes on a photo; the rest are
stored and shown but in no occurrence. An event keeps how many its last tracking left out, so
that its occurrence list can say so. Existing events left none out until tracked again.

Revision ID: 0033
Revises: 0032
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0033"
down_revision: str | None = "0032"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("untracked_boxes", sa.Integer(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE events DROP COLUMN untracked_boxes")
