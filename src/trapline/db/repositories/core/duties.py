"""Duty leases: which server replica runs each background duty right now."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trapline.db.leased_rows import LeasedRows
from trapline.db.tables import DutyLeaseRow

#: A duty's row is a lease alone: its holder and when the lease runs out. It is made by the
#: first replica to take the duty and deleted when its holder hands it back.
_LEASES = LeasedRows(DutyLeaseRow.name, DutyLeaseRow.holder, DutyLeaseRow.expires_at)


class DutyLeaseRepo:
    """Leases on background duties."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def acquire(self, name: str, holder: str, until: datetime, now: datetime) -> bool:
        """Take or renew the lease on a duty; False while another live holder has it."""
        if _LEASES.claim(self.session, name, holder, until, now):
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
            delete(DutyLeaseRow).where(DutyLeaseRow.name == name, *_LEASES.held_by(holder))
        )
