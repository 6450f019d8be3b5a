"""occurrences: an individual's detections in consecutive photos of an event, linked

Events gain a tracking version (raised by changes to their current results or reviews) and
the version last tracked; every existing event is due, so the background tracks what is
already stored. Occurrence tallies (per event, night and label) keep the pages' counts.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("tracking_version", sa.Integer(), nullable=False, server_default="1"),
    )
    op.add_column(
        "events",
        sa.Column("tracked_version", sa.Integer(), nullable=False, server_default="0"),
    )
    op.create_index("ix_events_tracking_due", "events", ["tracking_version", "tracked_version"])
    op.create_table(
        "occurrences",
        sa.Column("id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("pipeline", sa.String(255), nullable=False),
        sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        sa.Column("first_offset_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(), nullable=False),
        sa.Column("last_offset_minutes", sa.SmallInteger(), nullable=False),
        sa.Column("detection_count", sa.Integer(), nullable=False),
        sa.Column("best_annotation_id", _ID, nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("determined_by", sa.String(16), nullable=False),
        sa.Column("edited", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.CheckConstraint(
            "determined_by IN ('model', 'person')", name="ck_occurrences_determined_by"
        ),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name="fk_occurrences_project_id_projects",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["deployment_id"],
            ["deployments.id"],
            name="fk_occurrences_deployment_id_deployments",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["event_id"], ["events.id"], name="fk_occurrences_event_id_events", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_occurrences"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_occurrences_project_id", "occurrences", ["project_id"])
    op.create_index("ix_occurrences_deployment_id", "occurrences", ["deployment_id"])
    op.create_index("ix_occurrences_event_id", "occurrences", ["event_id"])
    op.create_table(
        "occurrence_detections",
        sa.Column("annotation_id", _ID, nullable=False),
        sa.Column("occurrence_id", _ID, nullable=False),
        sa.Column("image_id", _ID, nullable=False),
        sa.Column("cost", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["annotation_id"],
            ["annotations.id"],
            name="fk_occurrence_detections_annotation_id_annotations",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["occurrence_id"],
            ["occurrences.id"],
            name="fk_occurrence_detections_occurrence_id_occurrences",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("annotation_id", name="pk_occurrence_detections"),
    )
    op.create_index(
        "ix_occurrence_detections_occurrence_id", "occurrence_detections", ["occurrence_id"]
    )
    op.create_table(
        "occurrence_tallies",
        sa.Column("id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.Column("project_id", _ID, nullable=False),
        sa.Column("deployment_id", _ID, nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("label", sa.String(255), nullable=True),
        sa.Column("occurrences", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name="fk_occurrence_tallies_event_id_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_occurrence_tallies"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_occurrence_tallies_event_id", "occurrence_tallies", ["event_id"])
    op.create_index("ix_occurrence_tallies_project_id", "occurrence_tallies", ["project_id"])
    op.create_index("ix_occurrence_tallies_deployment_id", "occurrence_tallies", ["deployment_id"])


def downgrade() -> None:
    op.drop_table("occurrence_tallies")
    op.drop_table("occurrence_detections")
    op.drop_table("occurrences")
    op.drop_index("ix_events_tracking_due", table_name="events")
    op.execute("ALTER TABLE events DROP COLUMN tracked_version")
    op.execute("ALTER TABLE events DROP COLUMN tracking_version")
