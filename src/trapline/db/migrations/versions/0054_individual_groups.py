"""groupings: a project's unidentified individuals grouped by their feature vectors

A member asks for the individuals nobody identified (of the project, a deployment, or a range
of nights) to be grouped by the vectors of one pipeline; the grouping is worked out in the
background under a lease (queued, running, then done or failed) and keeps its groups and
which group each individual fell in.

Revision ID: 0054
Revises: 0053
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0054"
down_revision: str | None = "0053"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "groupings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("features_from", sa.String(255), nullable=False),
        sa.Column("features_version", sa.Integer(), nullable=True),
        sa.Column("features_length", sa.Integer(), nullable=True),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(120), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.Column("individuals", sa.Integer(), nullable=True),
        sa.Column("dimensions", sa.Integer(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_groupings_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_groupings_deployment_id_deployments",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_groupings_created_by_users",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'done', 'failed')", name="ck_groupings_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_groupings"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_groupings_status", "groupings", ["status"])
    op.create_index("ix_groupings_project_id", "groupings", ["project_id"])
    op.create_table(
        "grouping_members",
        sa.Column("grouping_id", _ID, nullable=False),
        sa.Column("occurrence_id", _ID, nullable=False),
        sa.Column("group_number", sa.Integer(), nullable=False),
        sa.Column("similarity", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["grouping_id"],
            ["groupings.id"],
            name="fk_grouping_members_grouping_id_groupings",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("grouping_id", "occurrence_id", name="pk_grouping_members"),
    )
    op.create_index(
        "ix_grouping_members_grouping_id_group_number",
        "grouping_members",
        ["grouping_id", "group_number", "similarity"],
    )


def downgrade() -> None:
    op.drop_table("grouping_members")
    op.drop_table("groupings")
