"""This installation's UUID: what makes the ids it publishes (Darwin Core ``occurrenceID``,
``eventID``) globally unique. The migration that added the table made it."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from trapline.db.tables import InstallationRow


def installation_uuid(session: Session) -> str:
    """The installation's UUID."""
    found = session.scalar(select(InstallationRow.uuid).where(InstallationRow.id == 1))
    assert found is not None, "the database was not migrated (no installation row)"
    return str(found)
