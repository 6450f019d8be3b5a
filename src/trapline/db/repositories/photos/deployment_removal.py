"""Removing a deployment: its photos stay, without a deployment; its events and their counts
go (ecology's), and the photos' kept findings forget it."""

from __future__ import annotations

from sqlalchemy import delete
from sqlalchemy.orm import Session

from trapline.db.photo_findings import deployment_deleted
from trapline.db.repositories.ecology.counts import forget_events
from trapline.db.tables import DeploymentRow, OccurrenceTallyRow


class DeploymentRemovalRepo:
    """Deletes deployments."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def delete(self, deployment_id: int) -> None:
        """Remove a deployment; its images stay, without a deployment (its events and their
        counts go)."""
        forget_events(self.session, OccurrenceTallyRow.deployment_id == deployment_id)
        deployment_deleted(self.session, deployment_id)
        self.session.execute(delete(DeploymentRow).where(DeploymentRow.id == deployment_id))
