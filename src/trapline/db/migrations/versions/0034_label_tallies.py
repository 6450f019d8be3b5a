"""label_tallies: each pipeline's occurrences and detections in a deployment by label and taxon

The project, deployment, species and labels pages counted by label or taxon over every tally
of the project, a row per event and label: seconds at a million photos. The sums over events
and nights are now kept with the tallies, filled here from the tallies there are. The index of
the tallies by taxon gains the night, so that a taxon's first and last night are read from its
ends.

Revision ID: 0034
Revises: 0033
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0034"
down_revision: str | None = "0033"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "label_tallies",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("taxon_id", _ID, nullable=False),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.Column("detections", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_label_tallies_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "pipeline", "deployment_id", "label", "taxon_id", name="pk_label_tallies"
        ),
    )
    op.execute(
        "INSERT INTO label_tallies (project_id, pipeline, deployment_id, label, taxon_id, "
        "occurrences, detections) "
        "SELECT project_id, pipeline, deployment_id, coalesce(label, ''), coalesce(taxon_id, 0), "
        "sum(occurrences), sum(detections) FROM occurrence_tallies "
        "GROUP BY project_id, pipeline, deployment_id, coalesce(label, ''), coalesce(taxon_id, 0)"
    )

    _taxon_index(["project_id", "pipeline", "taxon_id", "night"])


def downgrade() -> None:
    _taxon_index(["project_id", "pipeline", "taxon_id"])
    op.drop_table("label_tallies")


def _taxon_index(columns: list[str]) -> None:
    name = "ix_occurrence_tallies_project_pipeline_taxon"
    op.drop_index(name, table_name="occurrence_tallies")
    op.create_index(name, "occurrence_tallies", columns)
