"""local times and current results: time zones, the file's own offset, re-readings, pins

Projects gain a default time zone (UTC) and deployments an optional one. Images keep the
UTC offset their file gave apart (``file_offset_minutes``); ``captured_offset_minutes``
becomes the offset the capture time is read with, the file's or the zone's. Existing images'
offsets all came from their files, so they are copied; a dated image without one was read as
UTC before, and keeps that (offset 0) until its deployment is given a zone. New tables: the
re-readings of capture times a zone change starts, and the pipeline versions projects pin.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.add_column(
        "projects", sa.Column("time_zone", sa.String(64), nullable=False, server_default="UTC")
    )
    op.add_column("deployments", sa.Column("time_zone", sa.String(64), nullable=True))
    op.add_column("images", sa.Column("file_offset_minutes", sa.SmallInteger(), nullable=True))
    op.execute("UPDATE images SET file_offset_minutes = captured_offset_minutes")
    op.execute(
        "UPDATE images SET captured_offset_minutes = 0 "
        "WHERE captured_at IS NOT NULL AND captured_offset_minutes IS NULL"
    )
    op.create_table(
        "pipeline_pins",
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("slug", sa.String(200), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_pipeline_pins_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "slug", name="pk_pipeline_pins"),
    )
    op.create_table(
        "capture_time_rereads",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("time_zone", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("images_total", _ID, nullable=True),
        sa.Column("images_done", _ID, nullable=False),
        sa.Column("after_image_id", _ID, nullable=False),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", _TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'superseded')",
            name="ck_capture_time_rereads_status",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_capture_time_rereads_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_capture_time_rereads_deployment_id_deployments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_capture_time_rereads"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_capture_time_rereads_project_id", "capture_time_rereads", ["project_id"])
    op.create_index(
        "ix_capture_time_rereads_deployment_id", "capture_time_rereads", ["deployment_id"]
    )
    op.create_index("ix_capture_time_rereads_status", "capture_time_rereads", ["status"])


def downgrade() -> None:
    op.drop_table("capture_time_rereads")
    op.drop_table("pipeline_pins")
    # Offsets read from a zone go; the file's own come back to where they were kept before.
    op.execute("UPDATE images SET captured_offset_minutes = file_offset_minutes")
    # Both databases drop a column in place (SQLite since 3.35): no table rebuild.
    op.execute("ALTER TABLE images DROP COLUMN file_offset_minutes")
    op.execute("ALTER TABLE deployments DROP COLUMN time_zone")
    op.execute("ALTER TABLE projects DROP COLUMN time_zone")
