"""annotations: feature vectors packed in a column of their own

A classification's feature vector is stored as 4-byte floats (``features``) rather than as
JSON numbers in ``data``. Rows stored before keep theirs in ``data["features"]``, where
tracking still reads them.

Revision ID: 0042
Revises: 0041
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0042"
down_revision: str | None = "0041"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("annotations", sa.Column("features", sa.LargeBinary(), nullable=True))


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE annotations DROP COLUMN features")
