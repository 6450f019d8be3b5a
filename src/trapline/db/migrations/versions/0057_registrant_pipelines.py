"""the pipeline versions each token registered

A pull-mode service is found by its project and name; two tokens registering under one name
made one service whose registrant was the latest, so the earlier token's workers were given
any version and the latest's the earlier's too. What a token is given is now what it
registered itself, kept per token; filled from each service's registrant and versions.

Revision ID: 0057
Revises: 0056
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0057"
down_revision: str | None = "0056"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "registrant_pipelines",
        sa.Column("user_id", _ID, nullable=False),
        sa.Column("pipeline_id", _ID, nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name="fk_registrant_pipelines_user_id_users",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["pipeline_id"],
            ["pipelines.id"],
            name="fk_registrant_pipelines_pipeline_id_pipelines",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "pipeline_id", name="pk_registrant_pipelines"),
    )
    op.create_index("ix_registrant_pipelines_pipeline_id", "registrant_pipelines", ["pipeline_id"])
    op.execute(
        "INSERT INTO registrant_pipelines (user_id, pipeline_id) "
        "SELECT DISTINCT s.registered_by_id, sp.pipeline_id FROM service_pipelines sp "
        "JOIN processing_services s ON s.id = sp.service_id "
        "WHERE s.registered_by_id IS NOT NULL AND s.endpoint_url IS NULL"
    )


def downgrade() -> None:
    op.drop_index("ix_registrant_pipelines_pipeline_id", table_name="registrant_pipelines")
    op.drop_table("registrant_pipelines")
