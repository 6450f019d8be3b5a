"""counting: tallies per pipeline, a project's kind and the pipeline it counts by

Occurrences were tracked per pipeline but their tallies were not, so every page that read them
added two pipelines' individuals up. Tallies gain the pipeline (counted again from the
occurrences); occurrences' taxon indexes lead with the pipeline; a project names the pipeline
it counts by (null: the one with the most tracked detections) and its kind, which sets the
defaults of a new project (existing projects are ``other`` and keep their event rule). The
installation gets the UUID that makes the ids it publishes globally unique.

Revision ID: 0026
Revises: 0025
Create Date: 2026-11-25
"""

import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026"
down_revision: str | None = "0025"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TALLY_COLUMNS = (
    "event_id, project_id, deployment_id, pipeline, night, label, taxon_id, occurrences, detections"
)


def _night(column: str) -> str:
    if op.get_bind().dialect.name == "sqlite":
        return f"date({column}, '-12 hours')"
    return f"CAST({column} - INTERVAL '12 hours' AS DATE)"


def _count_again(with_pipeline: bool) -> None:
    night = _night("first_seen_at")
    pipeline = "pipeline, " if with_pipeline else ""
    columns = _TALLY_COLUMNS if with_pipeline else _TALLY_COLUMNS.replace("pipeline, ", "")
    op.execute("DELETE FROM occurrence_tallies")
    op.execute(
        f"INSERT INTO occurrence_tallies ({columns}) "  # noqa: S608 (no outside text)
        f"SELECT event_id, project_id, deployment_id, {pipeline}{night}, label, taxon_id, "
        f"count(*), sum(detection_count) FROM occurrences "
        f"GROUP BY event_id, project_id, deployment_id, {pipeline}{night}, label, taxon_id"
    )


def upgrade() -> None:
    op.create_table(
        "installation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_installation"),
        sa.UniqueConstraint("uuid", name="uq_installation_uuid"),
        sqlite_autoincrement=True,
    )
    installation = sa.table("installation", sa.column("id"), sa.column("uuid"))
    op.bulk_insert(installation, [{"id": 1, "uuid": str(uuid.uuid4())}])
    op.add_column(
        "projects", sa.Column("kind", sa.String(16), nullable=False, server_default="other")
    )
    op.add_column("projects", sa.Column("counting_pipeline", sa.String(255), nullable=True))
    op.add_column(
        "occurrence_tallies",
        sa.Column("pipeline", sa.String(255), nullable=False, server_default=""),
    )
    op.drop_index("ix_occurrence_tallies_project_taxon", table_name="occurrence_tallies")
    op.create_index(
        "ix_occurrence_tallies_project_pipeline_taxon",
        "occurrence_tallies",
        ["project_id", "pipeline", "taxon_id"],
    )
    op.drop_index("ix_occurrences_project_taxon", table_name="occurrences")
    op.drop_index("ix_occurrences_project_taxon_seen", table_name="occurrences")
    op.create_index(
        "ix_occurrences_project_pipeline_taxon",
        "occurrences",
        ["project_id", "pipeline", "taxon_id", "score"],
    )
    op.create_index(
        "ix_occurrences_project_pipeline_taxon_seen",
        "occurrences",
        ["project_id", "pipeline", "taxon_id", "first_seen_at"],
    )
    _count_again(with_pipeline=True)


def downgrade() -> None:
    op.drop_table("installation")
    op.drop_index("ix_occurrences_project_pipeline_taxon_seen", table_name="occurrences")
    op.drop_index("ix_occurrences_project_pipeline_taxon", table_name="occurrences")
    op.create_index(
        "ix_occurrences_project_taxon", "occurrences", ["project_id", "taxon_id", "score"]
    )
    op.create_index(
        "ix_occurrences_project_taxon_seen",
        "occurrences",
        ["project_id", "taxon_id", "first_seen_at"],
    )
    op.drop_index("ix_occurrence_tallies_project_pipeline_taxon", table_name="occurrence_tallies")
    op.create_index(
        "ix_occurrence_tallies_project_taxon", "occurrence_tallies", ["project_id", "taxon_id"]
    )
    op.execute("ALTER TABLE occurrence_tallies DROP COLUMN pipeline")
    _count_again(with_pipeline=False)
    op.execute("ALTER TABLE projects DROP COLUMN counting_pipeline")
    op.execute("ALTER TABLE projects DROP COLUMN kind")
