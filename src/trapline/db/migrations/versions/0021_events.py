"""events: a deployment's photos grouped into nights or sequences, and their regroupings

Projects gain an event rule (``sequence`` with a 60 s gap by default) and deployments an
optional one of their own. Images point at their event. Every project gets a queued
regrouping, so the background groups the images it already has.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from trapline.db.sqlite_rebuild import rebuild_table

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_KEY = "fk_images_event_id_events"
_CONSTRAINT = f", CONSTRAINT {_KEY} FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE SET NULL"


def _with_event_key(sql: str) -> str:
    """The images table's schema text with the key of ``event_id`` added at its end."""
    head, tail = sql.rstrip().rsplit(")", 1)
    return head.rstrip() + _CONSTRAINT + ")" + tail


def upgrade() -> None:
    op.add_column(
        "projects",
        sa.Column("event_rule", sa.String(16), nullable=False, server_default="sequence"),
    )
    op.add_column(
        "projects",
        sa.Column("event_gap_seconds", sa.Integer(), nullable=False, server_default="60"),
    )
    op.add_column("deployments", sa.Column("event_rule", sa.String(16), nullable=True))
    op.add_column("deployments", sa.Column("event_gap_seconds", sa.Integer(), nullable=True))
    op.create_table(
        "events",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("first_image_id", _ID, nullable=False),
        sa.Column("starts_at", sa.DateTime(), nullable=False),
        sa.Column("start_offset_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("ends_at", sa.DateTime(), nullable=False),
        sa.Column("end_offset_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("image_count", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_events_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_events_deployment_id_deployments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_events_project_id", "events", ["project_id"])
    op.create_index("ix_events_first_image_id", "events", ["first_image_id"])
    op.create_index("ix_events_deployment_starts", "events", ["deployment_id", "starts_at"])
    op.add_column("images", sa.Column("event_id", _ID, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        # SQLite cannot add a named key in place: the table is rebuilt with it.
        rebuild_table(op.get_bind(), "images", _with_event_key)
    else:
        op.create_foreign_key(_KEY, "images", "events", ["event_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_images_event_captured", "images", ["event_id", "captured_sort", "id"])
    op.create_table(
        "event_regroupings",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("deployments_total", _ID, nullable=True),
        sa.Column("deployments_done", _ID, nullable=False),
        sa.Column("after_deployment_id", _ID, nullable=False),
        sa.Column("runner", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", _TIME, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", _TIME, nullable=False),
        sa.Column("finished_at", _TIME, nullable=True),
        sa.CheckConstraint(
            "status IN ('queued', 'running', 'succeeded', 'failed', 'superseded')",
            name="ck_event_regroupings_status",
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_event_regroupings_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_event_regroupings_deployment_id_deployments",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_event_regroupings"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_event_regroupings_project_id", "event_regroupings", ["project_id"])
    op.create_index("ix_event_regroupings_deployment_id", "event_regroupings", ["deployment_id"])
    op.create_index("ix_event_regroupings_status", "event_regroupings", ["status"])
    # The images already stored are grouped in the background, project by project.
    op.execute(
        "INSERT INTO event_regroupings "
        "(project_id, status, deployments_done, after_deployment_id, attempts, created_at) "
        "SELECT id, 'queued', 0, 0, 0, CURRENT_TIMESTAMP FROM projects"
    )


def downgrade() -> None:
    op.drop_table("event_regroupings")
    op.drop_index("ix_images_event_captured", table_name="images")
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table(op.get_bind(), "images", lambda sql: sql.replace(_CONSTRAINT, ""))
    else:
        op.drop_constraint(_KEY, "images", type_="foreignkey")
    op.execute("ALTER TABLE images DROP COLUMN event_id")
    op.drop_table("events")
    op.execute("ALTER TABLE deployments DROP COLUMN event_gap_seconds")
    op.execute("ALTER TABLE deployments DROP COLUMN event_rule")
    op.execute("ALTER TABLE projects DROP COLUMN event_gap_seconds")
    op.execute("ALTER TABLE projects DROP COLUMN event_rule")
