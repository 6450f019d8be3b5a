"""pipeline_tallies: each pipeline's occurrences and detections in a project, kept

The project's counting pipeline, when it names none, is the pipeline with the most tracked
detections; summing every tally of the project to find it grew with the project. The sums are
now kept with the tallies, filled here from the tallies there are.

Revision ID: 0029
Revises: 0028
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0029"
down_revision: str | None = "0028"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pipeline_tallies",
        sa.Column("project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite")),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_pipeline_tallies_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "pipeline", name="pk_pipeline_tallies"),
    )
    op.execute(
        "INSERT INTO pipeline_tallies (project_id, pipeline, occurrences, detections) "
        "SELECT project_id, pipeline, sum(occurrences), sum(detections) "
        "FROM occurrence_tallies GROUP BY project_id, pipeline"
    )


def downgrade() -> None:
    op.drop_table("pipeline_tallies")
