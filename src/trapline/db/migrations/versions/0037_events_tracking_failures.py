"""events: a tracking that failed is recorded and backed off; regroupings list what they parted

A tracking that failed (or whose server died in it) is recorded on its event: how many tries
in a row did not finish, when it may be tried again, and the last error. Tracking goes on with
the other events meanwhile. A regrouping keeps a line for each occurrence it parted across
events (``not_kept``), and goes on past a deployment it could not regroup, counting it
(``deployments_failed``) and saying why in its error.

Earlier regroupings left an occurrence linked to its detections in other events, and tracking
those events failed for ever on the unique link of a detection. The links that cross events
are removed here, and the events on both sides are tracked again.

Revision ID: 0037
Revises: 0036
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0037"
down_revision: str | None = "0036"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The events on both sides of a link from an occurrence to a detection whose photo is in
#: another event.
_CROSSED = (
    "SELECT o.event_id FROM occurrence_detections od"
    " JOIN occurrences o ON o.id = od.occurrence_id"
    " JOIN image_events ie ON ie.image_id = od.image_id WHERE ie.event_id <> o.event_id"
    " UNION SELECT ie.event_id FROM occurrence_detections od"
    " JOIN occurrences o ON o.id = od.occurrence_id"
    " JOIN image_events ie ON ie.image_id = od.image_id WHERE ie.event_id <> o.event_id"
)
#: Those links.
_CROSSING = (
    "SELECT od.annotation_id FROM occurrence_detections od"
    " JOIN occurrences o ON o.id = od.occurrence_id"
    " JOIN image_events ie ON ie.image_id = od.image_id WHERE ie.event_id <> o.event_id"
)


def upgrade() -> None:
    op.add_column(
        "events",
        sa.Column("tracking_attempts", sa.Integer(), nullable=False, server_default="0"),
    )
    op.add_column("events", sa.Column("tracking_retry_at", sa.DateTime(timezone=True)))
    op.add_column("events", sa.Column("tracking_error", sa.Text()))
    op.add_column("event_regroupings", sa.Column("not_kept", sa.Text()))
    op.add_column(
        "event_regroupings",
        sa.Column("deployments_failed", sa.Integer(), nullable=False, server_default="0"),
    )
    # Constant statements: nothing of a user's is in them.
    op.execute(
        f"UPDATE events SET tracking_version = tracking_version + 1 WHERE id IN ({_CROSSED})"  # noqa: S608
    )
    op.execute(f"DELETE FROM occurrence_detections WHERE annotation_id IN ({_CROSSING})")  # noqa: S608


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    for column in ("tracking_attempts", "tracking_retry_at", "tracking_error"):
        op.execute(f"ALTER TABLE events DROP COLUMN {column}")
    for column in ("not_kept", "deployments_failed"):
        op.execute(f"ALTER TABLE event_regroupings DROP COLUMN {column}")
