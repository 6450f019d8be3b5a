"""evaluation_sets and evaluation_items: people's identifications and box reviews frozen

A person freezes a project's identifications (all, or of a deployment, dates or taxa) into a
named set, with the box reviews of the same photos; any model version is scored against it.
The items are copies (photo, box, taxon and name), so that later identifications, withdrawals
and re-runs leave a set as it was frozen.

Revision ID: 0047
Revises: 0043
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0047"
down_revision: str | None = "0046"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "evaluation_sets",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("since", sa.Date(), nullable=True),
        sa.Column("until", sa.Date(), nullable=True),
        sa.Column("taxa", sa.JSON(), nullable=False),
        sa.Column("size", _ID, nullable=False),
        sa.Column("reviewed", _ID, nullable=False),
        sa.Column("created_by", _ID, nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_evaluation_sets_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_evaluation_sets_deployment_id_deployments",
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name="fk_evaluation_sets_created_by_users",
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_sets"),
        sa.UniqueConstraint("project_id", "name", name="uq_evaluation_sets_project_id_name"),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "evaluation_items",
        sa.Column("id", _ID, nullable=False),
        sa.Column("set_id", _ID, nullable=False),
        sa.Column("image_id", _ID, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("x1", sa.Float(), nullable=False),
        sa.Column("y1", sa.Float(), nullable=False),
        sa.Column("x2", sa.Float(), nullable=False),
        sa.Column("y2", sa.Float(), nullable=False),
        sa.Column("taxon_id", _ID, nullable=True),
        sa.Column("scientific_name", sa.String(255), nullable=True),
        sa.Column("rank", sa.String(16), nullable=True),
        sa.Column("annotation_id", _ID, nullable=True),
        sa.Column("identification_id", _ID, nullable=True),
        sa.Column("review_id", _ID, nullable=True),
        sa.ForeignKeyConstraint(
            ["set_id"],
            ["evaluation_sets.id"],
            name="fk_evaluation_items_set_id_evaluation_sets",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["taxon_id"], ["taxa.id"], name="fk_evaluation_items_taxon_id_taxa", ondelete="SET NULL"
        ),
        sa.CheckConstraint(
            "kind IN ('identified', 'confirmed', 'rejected', 'drawn')",
            name="ck_evaluation_items_kind",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_evaluation_items"),
        sqlite_autoincrement=True,
    )
    op.create_index(
        "ix_evaluation_items_set_id_image_id", "evaluation_items", ["set_id", "image_id", "id"]
    )


def downgrade() -> None:
    op.drop_table("evaluation_items")
    op.drop_table("evaluation_sets")
