"""occurrence detections: an index of their photos

The event page asks which tracked detections each of its photos holds (``occurrences.boxes``);
without an index of ``image_id`` SQLite answered by reading every tracked detection of every
event (issue 50).

Revision ID: 0027
Revises: 0026
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0027"
down_revision: str | None = "0026"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_occurrence_detections_image_id"


def upgrade() -> None:
    op.create_index(_NAME, "occurrence_detections", ["image_id"])


def downgrade() -> None:
    op.drop_index(_NAME, table_name="occurrence_detections")
