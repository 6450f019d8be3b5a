"""photo_findings and photo_labels: what each photo's current results found, for the filters

The grid's result filters (label, minimum confidence, with or without detections) worked out
every photo's current results on every request. What they ask is now kept per photo as results
arrive, a row per photo. Projects that already hold photos are marked for working it out
(``projects.findings_rebuilt_to``), which the server's findings duty does in the background;
until it is done their filters read the results themselves, as before.

Revision ID: 0043
Revises: 0042
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0043"
down_revision: str | None = "0042"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def _key(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["image_id"], ["images.id"], name=f"fk_{table}_image_id_images", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "photo_findings",
        sa.Column("image_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("captured_sort", sa.DateTime(), nullable=False),
        sa.Column("detected", sa.Boolean(), nullable=False),
        sa.Column("best_confidence", sa.Float(), nullable=True),
        _key("photo_findings"),
        sa.PrimaryKeyConstraint("image_id", name="pk_photo_findings"),
    )
    op.create_index(
        "ix_photo_findings_detected",
        "photo_findings",
        ["project_id", "detected", "captured_sort", "image_id", "best_confidence"],
    )
    op.create_index(
        "ix_photo_findings_deployment_detected",
        "photo_findings",
        ["project_id", "deployment_id", "detected", "captured_sort", "image_id", "best_confidence"],
    )
    op.create_index(
        "ix_photo_findings_confidence", "photo_findings", ["project_id", "best_confidence"]
    )
    op.create_table(
        "photo_labels",
        sa.Column("image_id", _ID, nullable=False),
        sa.Column("label", sa.String(255), nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("captured_sort", sa.DateTime(), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=True),
        _key("photo_labels"),
        sa.PrimaryKeyConstraint("image_id", "label", name="pk_photo_labels"),
    )
    op.create_index(
        "ix_photo_labels_label",
        "photo_labels",
        ["project_id", "label", "captured_sort", "image_id"],
    )
    op.create_index(
        "ix_photo_labels_deployment_label",
        "photo_labels",
        ["project_id", "deployment_id", "label", "captured_sort", "image_id"],
    )
    op.add_column("projects", sa.Column("findings_rebuilt_to", _ID, nullable=True))
    op.execute(
        "UPDATE projects SET findings_rebuilt_to = 0 "
        "WHERE id IN (SELECT DISTINCT project_id FROM images)"
    )


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE projects DROP COLUMN findings_rebuilt_to")
    op.drop_table("photo_labels")
    op.drop_table("photo_findings")
