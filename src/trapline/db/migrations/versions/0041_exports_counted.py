"""exports: what a counting export counts, a line per deployment

Names the pipeline each deployment counts by and, when its photos' results are of several
versions of it, how many photos each version holds; written into the file and shown on the
export's page.

Revision ID: 0041
Revises: 0040
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0041"
down_revision: str | None = "0040"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("exports", sa.Column("counted", sa.JSON(), nullable=False, server_default="[]"))


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE exports DROP COLUMN counted")
