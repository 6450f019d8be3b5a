"""analyses indexed by pipeline version and project

The job form says how many of a project's photos a pipeline version analysed already; read
from this index's range instead of probing every photo of the project.

Revision ID: 0056
Revises: 0055
Create Date: 2026-11-27
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0056"
down_revision: str | None = "0055"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_analyses_pipeline_project",
        "analyses",
        ["pipeline_id", "project_id", "status", "image_id"],
    )


def downgrade() -> None:
    op.drop_index("ix_analyses_pipeline_project", table_name="analyses")
