"""The tallies' index by taxon holds every column a taxon's page reads

A taxon's page reads its tallies night by night, deployment by deployment and in sum. Its index
by taxon held the night only, so each tally's row was read besides, and the database answered
the reads by night from the index by night instead: every tally of the project's pipeline,
whatever its taxon (hundreds of milliseconds at a million photos). The index by taxon now
holds the deployment, label and sums too.

Revision ID: 0036
Revises: 0035
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0036"
down_revision: str | None = "0035"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_occurrence_tallies_project_pipeline_taxon"
_KEY = ["project_id", "pipeline", "taxon_id", "night"]


def upgrade() -> None:
    op.drop_index(_NAME, table_name="occurrence_tallies")
    op.create_index(
        _NAME,
        "occurrence_tallies",
        [*_KEY, "deployment_id", "label", "occurrences", "detections"],
    )


def downgrade() -> None:
    op.drop_index(_NAME, table_name="occurrence_tallies")
    op.create_index(_NAME, "occurrence_tallies", _KEY)
