"""Deployments (camera and trap stations): the record every capability reads. Deleting one
reaches into photos and ecology, so it is photos' (``photos/deployment_removal.py``)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from trapline.db.tables import DeploymentRow
from trapline.domain.core.records import Deployment


def to_deployment(row: DeploymentRow) -> Deployment:
    """Record from a row."""
    return Deployment(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        latitude=row.latitude,
        longitude=row.longitude,
        started_at=row.started_at,
        ended_at=row.ended_at,
        created_at=row.created_at,
        time_zone=row.time_zone,
        event_rule=row.event_rule,
        standard_time=row.standard_time,
        counting_pipeline=row.counting_pipeline,
        counting_chosen=row.counting_chosen,
        counting_not_carried=tuple((row.counting_not_carried or "").splitlines()),
    )


class DeploymentRepo:
    """Deployments of projects."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(self, project_id: int, **values: object) -> Deployment:
        """Add a deployment."""
        row = DeploymentRow(project_id=project_id, **values)
        self.session.add(row)
        self.session.flush()
        return to_deployment(row)

    def get(self, deployment_id: int) -> Deployment | None:
        """The deployment with this id."""
        row = self.session.get(DeploymentRow, deployment_id)
        return to_deployment(row) if row else None

    def page(self, project_id: int, *, limit: int, offset: int) -> tuple[int, list[Deployment]]:
        """A project's deployments by id."""
        where = DeploymentRow.project_id == project_id
        total = self.session.scalar(select(func.count()).where(where)) or 0
        rows = self.session.scalars(
            select(DeploymentRow)
            .where(where)
            .order_by(DeploymentRow.id)
            .limit(limit)
            .offset(offset)
        )
        return total, [to_deployment(r) for r in rows]

    def names(self, project_id: int, *, limit: int) -> list[tuple[int, str]]:
        """A project's first ``limit`` deployments by id, as (id, name): what a menu of them
        shows, read as two columns."""
        rows = self.session.execute(
            select(DeploymentRow.id, DeploymentRow.name)
            .where(DeploymentRow.project_id == project_id)
            .order_by(DeploymentRow.id)
            .limit(limit)
        )
        return [(int(i), str(name)) for i, name in rows]

    def update(self, deployment_id: int, **values: object) -> Deployment | None:
        """Change some fields."""
        row = self.session.get(DeploymentRow, deployment_id)
        if row is None:
            return None
        for field, value in values.items():
            setattr(row, field, value)
        self.session.flush()
        return to_deployment(row)
