"""annotations: the digest index holds only annotations that have a digest

Only annotations posted through the callback API have a digest; a worker's have none, and
an index entry for each of them cost every result batch an index write per annotation.

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "uq_annotations_analysis_id_digest"
_HAS_DIGEST = sa.text("digest IS NOT NULL")


def upgrade() -> None:
    op.drop_index(_NAME, table_name="annotations")
    op.create_index(
        _NAME,
        "annotations",
        ["analysis_id", "digest"],
        unique=True,
        sqlite_where=_HAS_DIGEST,
        postgresql_where=_HAS_DIGEST,
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="annotations")
    op.create_index(_NAME, "annotations", ["analysis_id", "digest"], unique=True)
