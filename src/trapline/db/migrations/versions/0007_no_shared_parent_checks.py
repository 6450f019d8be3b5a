"""no foreign-key checks of result rows against rows every result shares

Each analysis checked its job and pipeline, and each annotation its algorithm. All rows of
a job point at the same job, pipeline and few algorithms, so every result post locked those
same rows once per inserted row (a tuple lock written to the WAL, and a MultiXact as soon as
two posts overlap): 8-10% of PostgreSQL's CPU in a 4-worker dispatch run. Pipelines and
algorithms are never deleted; deleting a job now detaches its analyses itself.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-21
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.drop_constraint("fk_analyses_job_id_jobs", type_="foreignkey")
        batch_op.drop_constraint("fk_analyses_pipeline_id_pipelines", type_="foreignkey")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.drop_constraint("fk_annotations_algorithm_id_algorithms", type_="foreignkey")


def downgrade() -> None:
    # Rows left pointing at nothing (only possible through other tools) are detached first.
    op.execute("UPDATE annotations SET algorithm_id = NULL WHERE algorithm_id NOT IN "
               "(SELECT id FROM algorithms)")  # fmt: skip
    op.execute("UPDATE analyses SET pipeline_id = NULL WHERE pipeline_id NOT IN "
               "(SELECT id FROM pipelines)")  # fmt: skip
    op.execute("UPDATE analyses SET job_id = NULL WHERE job_id NOT IN (SELECT id FROM jobs)")
    with op.batch_alter_table("annotations", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_annotations_algorithm_id_algorithms",
            "algorithms",
            ["algorithm_id"],
            ["id"],
            ondelete="SET NULL",
        )
    with op.batch_alter_table("analyses", schema=None) as batch_op:
        batch_op.create_foreign_key(
            "fk_analyses_pipeline_id_pipelines",
            "pipelines",
            ["pipeline_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.create_foreign_key(
            "fk_analyses_job_id_jobs", "jobs", ["job_id"], ["id"], ondelete="SET NULL"
        )
