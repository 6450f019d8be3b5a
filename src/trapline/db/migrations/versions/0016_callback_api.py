"""the callback API: analyses an external pipeline drives, their artifacts, secrets, signatures

Analyses gain what an external pipeline says of its run (model name and version, parameters,
provenance), who asked for it and when its status last changed (a partial index finds the
open ones by that time for the stuck-analysis duty). Annotations gain a digest of their
canonical JSON, unique per analysis, so a retried bulk post stores one copy whichever replica
receives it. New tables: per-project callback secrets (encrypted), accepted signatures (for
replay refusal across replicas, with an expiry) and the artifacts an analysis uploads.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_OPEN = sa.text("status IN ('queued', 'processing')")


def upgrade() -> None:
    op.add_column("analyses", sa.Column("model_name", sa.String(255), nullable=True))
    op.add_column("analyses", sa.Column("model_version", sa.String(255), nullable=True))
    op.add_column("analyses", sa.Column("parameters", sa.JSON(), nullable=True))
    op.add_column("analyses", sa.Column("provenance", sa.JSON(), nullable=True))
    op.add_column("analyses", sa.Column("requested_by_id", _ID, nullable=True))
    op.add_column("analyses", sa.Column("updated_at", _TIME, nullable=True))
    op.create_index(
        "ix_analyses_open_updated_at",
        "analyses",
        ["updated_at"],
        sqlite_where=_OPEN,
        postgresql_where=_OPEN,
    )
    op.add_column("annotations", sa.Column("digest", sa.String(64), nullable=True))
    op.create_index(
        "uq_annotations_analysis_id_digest", "annotations", ["analysis_id", "digest"], unique=True
    )
    op.create_table(
        "callback_secrets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("sealed", sa.Text(), nullable=False),
        sa.Column("created_by_id", _ID, nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("revoked_at", _TIME, nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_callback_secrets_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_callback_secrets"),
        sa.UniqueConstraint("key_id", name="uq_callback_secrets_key_id"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_callback_secrets_project_id", "callback_secrets", ["project_id"])
    op.create_table(
        "callback_signatures",
        sa.Column("id", _ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("analysis_id", _ID, nullable=False),
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_callback_signatures_analysis_id_analyses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_callback_signatures"),
        sa.UniqueConstraint("digest", name="uq_callback_signatures_digest"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_callback_signatures_analysis_id", "callback_signatures", ["analysis_id"])
    op.create_index("ix_callback_signatures_expires_at", "callback_signatures", ["expires_at"])
    op.create_table(
        "analysis_artifacts",
        sa.Column("id", _ID, nullable=False),
        sa.Column("analysis_id", _ID, nullable=False),
        sa.Column("artifact_type", sa.String(16), nullable=False),
        sa.Column("filename", sa.String(255), nullable=False),
        sa.Column("content_type", sa.String(64), nullable=False),
        sa.Column("storage_key", sa.String(1024), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_analysis_artifacts_analysis_id_analyses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_analysis_artifacts"),
        sa.UniqueConstraint("storage_key", name="uq_analysis_artifacts_storage_key"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_analysis_artifacts_analysis_id", "analysis_artifacts", ["analysis_id"])


def downgrade() -> None:
    op.drop_table("analysis_artifacts")
    op.drop_table("callback_signatures")
    op.drop_table("callback_secrets")
    op.drop_index("uq_annotations_analysis_id_digest", table_name="annotations")
    op.drop_index("ix_analyses_open_updated_at", table_name="analyses")
    # Both databases drop a column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE annotations DROP COLUMN digest")
    for column in _ANALYSIS_COLUMNS:
        op.execute(f"ALTER TABLE analyses DROP COLUMN {column}")


_ANALYSIS_COLUMNS = (
    "model_name", "model_version", "parameters", "provenance", "requested_by_id", "updated_at",
)  # fmt: skip
