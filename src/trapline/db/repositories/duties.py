"""Duty leases: which server replica runs each background duty right now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trapline.db.tables import DutyLeaseRow
from trapline.db.types import affected


class DutyLeaseRepo:
    """Leases on background duties."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take or renew the lease on a duty; False while another live holder has it."""
        renewed = self.session.execute(
            update(DutyLeaseRow)
            .where(
                DutyLeaseRow.name == name,
                (DutyLeaseRow.holder == holder) | (DutyLeaseRow.expires_at < now),
            )
            .values(holder=holder, expires_at=until)
        )
        if affected(renewed):
            return True
        try:
            with self.session.begin_nested():
                self.session.add(DutyLeaseRow(name=name, holder=holder, expires_at=until))
                self.session.flush()
        except IntegrityError:  # someone else holds it
            return False
        return True

    def release(self, name: str, holder: str) -> None:
        """Give a duty up (on shutdown) so another replica takes it at once."""
        self.session.execute(
            delete(DutyLeaseRow).where(DutyLeaseRow.name == name, DutyLeaseRow.holder == holder)
        )
