"""occurrences: an index of their determinations, for a listing's count

A project's listing of occurrences filtered by who determined them, how sure the models are or
whether they need identifying counts its matches among all of a pipeline's occurrences; with
every column those filters read in one index, the count reads no row of the table.

Revision ID: 0032
Revises: 0031
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0032"
down_revision: str | None = "0031"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_occurrences_project_pipeline_determination"


def upgrade() -> None:
    op.create_index(
        _NAME,
        "occurrences",
        ["project_id", "pipeline", "determined_by", "score", "disputed", "identified_by", "label"],
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="occurrences")
