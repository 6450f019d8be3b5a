"""deployments: each counts by a pipeline of its own, chosen once and then only by a person

A project counted by one pipeline: the one it named, else whichever had the most tracked
detections, so a new import or a member's test took a project's counts by arriving, and a
project of camera traps and light traps counted only one of them. Each deployment now keeps
the pipeline it counts by and who chose it (``results``: the first results tracked on it;
``project``: the project's choice; ``person``: a person, for this deployment), and what a
person's last change could not carry to the new pipeline's individuals. Existing
deployments keep what they counted by: the project's pipeline where it has occurrences there,
else the deployment's own pipeline with the most tracked detections.

Revision ID: 0038
Revises: 0037
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0038"
down_revision: str | None = "0037"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("deployments", sa.Column("counting_pipeline", sa.String(255), nullable=True))
    op.add_column("deployments", sa.Column("counting_chosen", sa.String(16), nullable=True))
    op.add_column("deployments", sa.Column("counting_not_carried", sa.Text(), nullable=True))
    bind = op.get_bind()
    named: dict[int, str | None] = dict(
        bind.execute(sa.text("SELECT id, counting_pipeline FROM projects")).all()
    )
    # The project's default as it was: its pipeline with the most tracked detections.
    usual: dict[int, str] = {}
    for project, pipeline in bind.execute(
        sa.text(
            "SELECT project_id, pipeline FROM pipeline_tallies WHERE occurrences > 0"
            " ORDER BY project_id, detections, pipeline DESC"  # the last is the most
        )
    ):
        usual[int(project)] = str(pipeline)
    found: dict[tuple[int, int], dict[str, int]] = {}
    for project, deployment, pipeline, detections in bind.execute(
        sa.text(
            "SELECT project_id, deployment_id, pipeline, sum(detections) FROM label_tallies"
            " WHERE occurrences > 0 GROUP BY project_id, deployment_id, pipeline"
        )
    ):
        found.setdefault((int(project), int(deployment)), {})[str(pipeline)] = int(detections)
    for (project, deployment), pipelines in sorted(found.items()):
        chosen, how = named.get(project), "project"
        if chosen not in pipelines:
            chosen, how = usual.get(project), "results"
        if chosen not in pipelines:
            chosen = min(pipelines, key=lambda p: (-pipelines[p], p))
        bind.execute(
            sa.text(
                "UPDATE deployments SET counting_pipeline = :p, counting_chosen = :how"
                " WHERE id = :d"
            ),
            {"p": chosen, "how": how, "d": deployment},
        )


def downgrade() -> None:
    # In place on SQLite too (3.35+): a rebuilt table would lose its AUTOINCREMENT.
    op.execute("ALTER TABLE deployments DROP COLUMN counting_pipeline")
    op.execute("ALTER TABLE deployments DROP COLUMN counting_chosen")
    op.execute("ALTER TABLE deployments DROP COLUMN counting_not_carried")
