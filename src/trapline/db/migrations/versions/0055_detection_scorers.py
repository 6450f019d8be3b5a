"""detection_scorers: moth-blobs' insect score refitted from people's box reviews

A member asks for the score refitted on the project's reviewed photos; it is fitted in the
background under a lease (queued, fitting, then fitted or failed) and keeps its weights, its
held-out figures and what it was fitted on.

Revision ID: 0055
Revises: 0054
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0055"
down_revision: str | None = "0054"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "detection_scorers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("weights", sa.JSON(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("photos", sa.Integer(), nullable=True),
        sa.Column("insects", sa.Integer(), nullable=True),
        sa.Column("others", sa.Integer(), nullable=True),
        sa.Column("latest_review_id", _ID, nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stage", sa.String(120), nullable=True),
        sa.Column("progress", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_detection_scorers_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_detection_scorers_created_by_users",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'fitting', 'fitted', 'failed')",
            name="ck_detection_scorers_status",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_detection_scorers"),
        sa.UniqueConstraint("project_id", "name", name="uq_detection_scorers_project_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_detection_scorers_status", "detection_scorers", ["status"])


def downgrade() -> None:
    op.drop_table("detection_scorers")
