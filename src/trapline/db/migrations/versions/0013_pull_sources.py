"""pull sources: their records, their runs and every remote file they have seen

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-22
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "pull_sources",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "project_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column(
            "deployment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("endpoint_url", sa.String(length=2048), nullable=True),
        sa.Column("credentials", sa.Text(), nullable=True),
        sa.Column("credential_names", sa.JSON(), nullable=False),
        sa.Column("include", sa.JSON(), nullable=False),
        sa.Column("exclude", sa.JSON(), nullable=False),
        sa.Column("depth", sa.SmallInteger(), nullable=False),
        sa.Column("schedule", sa.String(length=100), nullable=False),
        sa.Column("max_files", sa.Integer(), nullable=False),
        sa.Column("pipeline", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column(
            "created_by", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("next_run_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("lease_holder", sa.String(length=255), nullable=True),
        sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_pull_sources_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name=op.f("fk_pull_sources_deployment_id_deployments"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_pull_sources_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_sources")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("pull_sources", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pull_sources_deployment_id"), ["deployment_id"], unique=False
        )
        batch_op.create_index("ix_pull_sources_due", ["enabled", "next_run_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pull_sources_project_id"), ["project_id"], unique=False
        )

    op.create_table(
        "pull_source_runs",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("trigger", sa.String(length=16), nullable=False),
        sa.Column("holder", sa.String(length=255), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("listed", sa.BigInteger(), nullable=False),
        sa.Column("new", sa.BigInteger(), nullable=False),
        sa.Column("imported", sa.BigInteger(), nullable=False),
        sa.Column("duplicates", sa.BigInteger(), nullable=False),
        sa.Column("failed", sa.BigInteger(), nullable=False),
        sa.Column("skipped", sa.BigInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("job_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'interrupted')",
            name=op.f("ck_pull_source_runs_status"),
        ),
        sa.ForeignKeyConstraint(
            ["job_id"],
            ["jobs.id"],
            name=op.f("fk_pull_source_runs_job_id_jobs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["pull_sources.id"],
            name=op.f("fk_pull_source_runs_source_id_pull_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_source_runs")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("pull_source_runs", schema=None) as batch_op:
        batch_op.create_index("ix_pull_source_runs_source_id_id", ["source_id", "id"], unique=False)

    op.create_table(
        "pull_source_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column(
            "source_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("key", sa.String(length=1024), nullable=False),
        sa.Column("version", sa.String(length=255), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("image_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("attempts", sa.SmallInteger(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("run_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('imported', 'duplicate', 'skipped', 'failed')",
            name=op.f("ck_pull_source_items_status"),
        ),
        sa.ForeignKeyConstraint(
            ["image_id"],
            ["images.id"],
            name=op.f("fk_pull_source_items_image_id_images"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["pull_source_runs.id"],
            name=op.f("fk_pull_source_items_run_id_pull_source_runs"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["source_id"],
            ["pull_sources.id"],
            name=op.f("fk_pull_source_items_source_id_pull_sources"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_source_items")),
        sqlite_autoincrement=True,
    )
    with op.batch_alter_table("pull_source_items", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_pull_source_items_image_id"), ["image_id"], unique=False
        )
        batch_op.create_index("ix_pull_source_items_run_status", ["run_id", "status"], unique=False)
        batch_op.create_index("uq_pull_source_items_source_key", ["source_id", "key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("pull_source_items", schema=None) as batch_op:
        batch_op.drop_index("uq_pull_source_items_source_key")
        batch_op.drop_index("ix_pull_source_items_run_status")
        batch_op.drop_index(batch_op.f("ix_pull_source_items_image_id"))

    op.drop_table("pull_source_items")
    with op.batch_alter_table("pull_source_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_pull_source_runs_source_id_id")

    op.drop_table("pull_source_runs")
    with op.batch_alter_table("pull_sources", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pull_sources_project_id"))
        batch_op.drop_index("ix_pull_sources_due")
        batch_op.drop_index(batch_op.f("ix_pull_sources_deployment_id"))

    op.drop_table("pull_sources")
