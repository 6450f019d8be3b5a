"""leaner result writes: partial task indexes, no per-row checks of denormalised columns

Storing a worker's batch writes an analysis and a few annotations per image and updates its
task twice; these changes cut the index entries and foreign-key checks each of those costs.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-21
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

LEASED = "status = 'leased'"
FINISHED = "finished_at IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_status_lease")
        batch_op.drop_index("ix_tasks_job_finished")
        batch_op.create_index(
            "ix_tasks_leased",
            ["lease_expires_at"],
            unique=False,
            sqlite_where=sa.text(LEASED),
            postgresql_where=sa.text(LEASED),
        )
        batch_op.create_index(
            "ix_tasks_job_finished",
            ["job_id", "finished_at"],
            unique=False,
            sqlite_where=sa.text(FINISHED),
            postgresql_where=sa.text(FINISHED),
        )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_constraint("fk_analyses_project_id_projects", type_="foreignkey")
        batch_op.drop_index("ix_analyses_image_id")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_annotations_project_id_projects", type_="foreignkey")
        batch_op.drop_constraint("fk_annotations_image_id_images", type_="foreignkey")
        batch_op.drop_constraint("fk_annotations_parent_id_annotations", type_="foreignkey")


def downgrade() -> None:
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_annotations_parent_id_annotations",
            "annotations",
            ["parent_id"],
            ["id"],
            ondelete="CASCADE",
        )
        batch_op.create_foreign_key(
            "fk_annotations_image_id_images", "images", ["image_id"], ["id"], ondelete="CASCADE"
        )
        batch_op.create_foreign_key(
            "fk_annotations_project_id_projects",
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_index("ix_analyses_image_id", ["image_id"], unique=False)
        batch_op.create_foreign_key(
            "fk_analyses_project_id_projects",
            "projects",
            ["project_id"],
            ["id"],
            ondelete="CASCADE",
        )
    with op.batch_alter_table("tasks", schema=None) as batch_op:
        batch_op.drop_index("ix_tasks_job_finished")
        batch_op.drop_index("ix_tasks_leased")
        batch_op.create_index("ix_tasks_job_finished", ["job_id", "finished_at"], unique=False)
        batch_op.create_index("ix_tasks_status_lease", ["status", "lease_expires_at"], unique=False)
