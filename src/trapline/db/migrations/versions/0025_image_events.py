"""image events: which event a photo falls in moves from ``images.event_id`` to a narrow table

Grouping a deployment rewrote every photo's row, and with it each of the images table's
indexes; a row of two ids per photo is cheaper to write (decision 045). The row has a key to
its event (it goes with the event) but none to its image: checking that key would lock, and so
rewrite, every image row again; deleting an image deletes its row. The links already made are
copied over.

Revision ID: 0025
Revises: 0024
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from trapline.db.sqlite_rebuild import rebuild_table

revision: str = "0025"
down_revision: str | None = "0024"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_KEY = "fk_images_event_id_events"
_CONSTRAINT = f", CONSTRAINT {_KEY} FOREIGN KEY(event_id) REFERENCES events (id) ON DELETE SET NULL"


def _with_event_key(sql: str) -> str:
    """The images table's schema text with the key of ``event_id`` added at its end."""
    head, tail = sql.rstrip().rsplit(")", 1)
    return head.rstrip() + _CONSTRAINT + ")" + tail


def upgrade() -> None:
    op.create_table(
        "image_events",
        sa.Column("image_id", _ID, nullable=False),
        sa.Column("event_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["event_id"],
            ["events.id"],
            name="fk_image_events_event_id_events",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("image_id", name="pk_image_events"),
    )
    op.create_index("ix_image_events_event_image", "image_events", ["event_id", "image_id"])
    op.execute(
        "INSERT INTO image_events (image_id, event_id) "
        "SELECT id, event_id FROM images WHERE event_id IS NOT NULL"
    )
    op.drop_index("ix_images_event_captured", table_name="images")
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table(op.get_bind(), "images", lambda sql: sql.replace(_CONSTRAINT, ""))
    else:
        op.drop_constraint(_KEY, "images", type_="foreignkey")
    op.execute("ALTER TABLE images DROP COLUMN event_id")


def downgrade() -> None:
    op.add_column("images", sa.Column("event_id", _ID, nullable=True))
    if op.get_bind().dialect.name == "sqlite":
        rebuild_table(op.get_bind(), "images", _with_event_key)
    else:
        op.create_foreign_key(_KEY, "images", "events", ["event_id"], ["id"], ondelete="SET NULL")
    op.create_index("ix_images_event_captured", "images", ["event_id", "captured_sort", "id"])
    op.execute(
        "UPDATE images SET event_id = "
        "(SELECT event_id FROM image_events WHERE image_events.image_id = images.id)"
    )
    op.drop_table("image_events")
