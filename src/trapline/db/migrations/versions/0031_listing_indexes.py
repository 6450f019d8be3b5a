"""occurrences and tallies: indexes of a project's listings and count tables

The project's listing of occurrences (``GET /projects/{id}/occurrences``) walks one pipeline's
occurrences by first sighting from a cursor; without an index in that order a page sorted all of
them. A count table (``GET /projects/{id}/counts``) reads a pipeline's tallies night by night;
with every column it reads in the index, it reads no row of the table itself.

Revision ID: 0031
Revises: 0030
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0031"
down_revision: str | None = "0030"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_OCCURRENCES = "ix_occurrences_project_pipeline_seen"
_TALLIES = "ix_occurrence_tallies_project_pipeline_night"


def upgrade() -> None:
    op.create_index(_OCCURRENCES, "occurrences", ["project_id", "pipeline", "first_seen_at", "id"])
    op.create_index(
        _TALLIES,
        "occurrence_tallies",
        ["project_id", "pipeline", "night", "taxon_id", "label", "deployment_id", "event_id",
         "occurrences"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index(_TALLIES, table_name="occurrence_tallies")
    op.drop_index(_OCCURRENCES, table_name="occurrences")
