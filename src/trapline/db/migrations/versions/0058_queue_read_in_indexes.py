"""occurrences and label tallies: what the identification queue reads, in their indexes

The index of the occurrences' determinations lacked the columns every reader of it also
asks (whether a person rejected the occurrence, its taxon and id), so each occurrence it found
was read from the table: the queue's people's determinations, the count of those settled and a
listing's count by determination read as many rows as people did. The
label tallies are summed by deployment and pipeline (a project's counting table), by label, and
by label or taxon (the identification queue): an index of their key and their sums serves each
without the table.

Revision ID: 0058
Revises: 0057
Create Date: 2026-11-29
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0058"
down_revision: str | None = "0057"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_DETERMINATION = "ix_occurrences_project_pipeline_determination"
_COLUMNS = [
    "project_id",
    "pipeline",
    "determined_by",
    "score",
    "disputed",
    "identified_by",
    "label",
]
_TALLIES = "ix_label_tallies_sums"


def upgrade() -> None:
    op.drop_index(_DETERMINATION, table_name="occurrences")
    op.create_index(
        _DETERMINATION,
        "occurrences",
        [*_COLUMNS, "rejected", "taxon_id", "id"],
    )
    op.create_index(
        _TALLIES,
        "label_tallies",
        ["project_id", "pipeline", "deployment_id", "label", "taxon_id", "occurrences",
         "detections"],
    )  # fmt: skip


def downgrade() -> None:
    op.drop_index(_TALLIES, table_name="label_tallies")
    op.drop_index(_DETERMINATION, table_name="occurrences")
    op.create_index(_DETERMINATION, "occurrences", _COLUMNS)
