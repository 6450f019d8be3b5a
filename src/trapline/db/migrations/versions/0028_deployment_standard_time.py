"""deployments: a camera that keeps standard time all year

Some cameras' clocks never follow daylight saving; a deployment that says so has its photos'
local times read at its zone's standard offset all year. Existing deployments follow the zone's
clock changes, as before.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-25
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column(
        "deployments",
        sa.Column("standard_time", sa.Boolean(), nullable=False, server_default=sa.false()),
    )


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE deployments DROP COLUMN standard_time")
