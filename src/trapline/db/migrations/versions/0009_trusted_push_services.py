"""processing_services.trusted: push-mode services an admin registered

The platform calls a push-mode service only at an address the outbound policy allows (public
addresses, and the networks of TRAPLINE_OUTBOUND_ALLOW_NETWORKS), unless an admin registered
it: then it may be anywhere, such as on the admin's own machine. Services registered before
are not trusted: the next registration by an admin marks them.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("processing_services", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("trusted", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("processing_services", schema=None) as batch_op:
        batch_op.drop_column("trusted")
