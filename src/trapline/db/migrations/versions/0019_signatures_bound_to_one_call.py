"""callback signatures: each is good for one call, whose answer it keeps

An accepted signature was recorded per (call, analysis, signature), so the same signature was
fresh on another analysis or call. Now the signature alone is the key, with the analysis and
the call it was first used on, and that call's answer (status, media type, body, compressed
when large) for an identical repeat (decision 036).

The table holds only records that expire within minutes, and the old digest cannot be turned
into the new one: it is made again, empty. A signature accepted in the minutes before the
upgrade is therefore unknown after it.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23
"""

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = sa.DateTime(timezone=True)
_TABLE = "callback_signatures"


def _create(*columns: sa.Column[Any]) -> None:
    op.create_table(
        _TABLE,
        sa.Column("id", _ID, nullable=False),
        sa.Column("digest", sa.String(64), nullable=False),
        sa.Column("analysis_id", _ID, nullable=False),
        *columns,
        sa.Column("expires_at", _TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["analysis_id"],
            ["analyses.id"],
            name="fk_callback_signatures_analysis_id_analyses",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_callback_signatures"),
        sa.UniqueConstraint("digest", name="uq_callback_signatures_digest"),
        sqlite_autoincrement=True,
    )
    op.create_index("ix_callback_signatures_analysis_id", _TABLE, ["analysis_id"])
    op.create_index("ix_callback_signatures_expires_at", _TABLE, ["expires_at"])


def upgrade() -> None:
    op.drop_table(_TABLE)
    _create(
        sa.Column("action", sa.String(64), nullable=False),
        sa.Column("answer_status", sa.Integer(), nullable=True),
        sa.Column("answer_media_type", sa.String(255), nullable=True),
        sa.Column("answer_body", sa.LargeBinary(), nullable=True),
        sa.Column("answer_compressed", sa.Boolean(), nullable=False),
    )


def downgrade() -> None:
    op.drop_table(_TABLE)
    _create()
