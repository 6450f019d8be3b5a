"""This installation's UUID: what makes the ids it publishes (Darwin Core ``occurrenceID``,
``eventID``) globally unique. The migration that added the table made it; a database whose
rows were all cleared gets a new one on first use."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from trapline.db.tables import InstallationRow

_ONE = InstallationRow.id == 1


def installation_uuid(session: Session) -> str:
    """The installation's UUID (made now when the database has none)."""
    found = session.scalar(select(InstallationRow.uuid).where(_ONE))
    if found is None:
        sqlite = session.get_bind().dialect.name == "sqlite"
        insert = sqlite_insert if sqlite else postgres_insert
        made = insert(InstallationRow).values(id=1, uuid=str(uuid.uuid4()))
        # Two first uses at once: the second's row is left out, and it reads the first's.
        session.execute(made.on_conflict_do_nothing(index_elements=["id"]))
        found = session.scalar(select(InstallationRow.uuid).where(_ONE))
    return str(found)
