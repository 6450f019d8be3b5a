"""classifiers: classifier heads refitted from people's identifications

A member asks for a head fitted on the features of one pipeline over the project's identified
detections; it is fitted in the background under a lease (queued, fitting, then fitted or
failed) and keeps its cross-validated figures, what it was fitted on and its parameters.

Revision ID: 0052
Revises: 0051
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0052"
down_revision: str | None = "0051"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "classifiers",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("features_from", sa.String(255), nullable=False),
        sa.Column("features_version", sa.Integer(), nullable=True),
        sa.Column("features_length", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("identifications", sa.Integer(), nullable=True),
        sa.Column("latest_identification_id", _ID, nullable=True),
        sa.Column("individuals", sa.Integer(), nullable=True),
        sa.Column("detections", sa.Integer(), nullable=True),
        sa.Column("results", sa.JSON(), nullable=True),
        sa.Column("parameters", sa.LargeBinary(), nullable=True),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("fitted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_classifiers_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_classifiers_created_by_users",
            ondelete="SET NULL",
        ),
        sa.CheckConstraint(
            "status IN ('queued', 'fitting', 'fitted', 'failed')", name="ck_classifiers_status"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_classifiers"),
        sa.UniqueConstraint("project_id", "name", name="uq_classifiers_project_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_classifiers_status", "classifiers", ["status"])


def downgrade() -> None:
    op.drop_table("classifiers")
