"""processing_services: the account whose token registered a pull-mode service

A worker claimed the tasks of any version of its pipeline: a version-1 worker took a version-2
job's tasks and its results were refused. A service now records the account that registered
it, so a worker claiming with that account's token is given only the versions it offers.

Revision ID: 0039
Revises: 0038
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0039"
down_revision: str | None = "0038"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

#: The ids' type, as the tables declare it.
_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.add_column("processing_services", sa.Column("registered_by_id", _ID, nullable=True))
    op.create_index(
        "ix_processing_services_registered_by_id", "processing_services", ["registered_by_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_processing_services_registered_by_id", table_name="processing_services")
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE processing_services DROP COLUMN registered_by_id")
