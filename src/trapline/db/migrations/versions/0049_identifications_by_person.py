"""identifications: an index on a person's identifications in a project, newest first

The identify forms offer the taxa a person named most recently in the project as one-click
buttons; the index lets that read walk back from their latest identification.

Revision ID: 0049
Revises: 0047
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0049"
down_revision: str | None = "0047"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_identifications_user_project_id", "identifications", ["user_id", "project_id", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_identifications_user_project_id", table_name="identifications")
