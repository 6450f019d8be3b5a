"""annotations: an index of a project's annotations by confidence

The review queue showed the surest detections of a project by sorting every unreviewed box of
its current results on each load, a cost that grew with the project. It now walks the
project's annotations down this index, surest first, and stops once its page is full
(``db/repositories/review/review_queue.py``; issue 50).

Revision ID: 0030
Revises: 0029
Create Date: 2026-11-25
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0030"
down_revision: str | None = "0029"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_NAME = "ix_annotations_project_id_confidence"


def upgrade() -> None:
    op.create_index(_NAME, "annotations", ["project_id", "confidence", "id"])


def downgrade() -> None:
    op.drop_index(_NAME, table_name="annotations")
