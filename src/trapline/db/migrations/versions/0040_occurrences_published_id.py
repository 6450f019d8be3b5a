"""occurrences: the id an export publishes, when not the occurrence's own

When a person switches the pipeline a deployment counts by, the new pipeline's individuals
take the ids the old ones published (the individual holding the same animal), so that a
Darwin Core ``occurrenceID`` does not change with the model that boxed the animal.

Revision ID: 0040
Revises: 0039
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0040"
down_revision: str | None = "0039"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The ids' type, as the tables declare it.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("occurrences", sa.Column("published_id", _ID, nullable=True))


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE occurrences DROP COLUMN published_id")
