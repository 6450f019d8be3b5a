"""People's sign-in sessions of the web app."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from trapline.db.repositories.core.users import to_user
from trapline.db.tables import SessionRow, UserRow
from trapline.db.types import affected
from trapline.domain.core.records import SignInSession, User

#: ``last_seen_at`` is written at most this often per session, so page views stay reads.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)


def to_session(row: SessionRow) -> SignInSession:
    """Record from a row."""
    return SignInSession(
        id=row.id,
        user_id=row.user_id,
        created_at=row.created_at,
        expires_at=row.expires_at,
        last_seen_at=row.last_seen_at,
        revoked_at=row.revoked_at,
        user_agent=row.user_agent,
    )


class SessionRepo:
    """Sessions, stored by the hash of their secret."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, user_id: int, token_hash: str, expires_at: datetime, user_agent: str
    ) -> SignInSession:
        """Store a new session."""
        row = SessionRow(
            user_id=user_id, token_hash=token_hash, expires_at=expires_at, user_agent=user_agent
        )
        self.session.add(row)
        self.session.flush()
        return to_session(row)

    def authenticate(self, token_hash: str, now: datetime) -> tuple[User, SignInSession] | None:
        """The active person and live session matching a session hash."""
        found = self.session.execute(
            select(UserRow, SessionRow)
            .join(SessionRow, SessionRow.user_id == UserRow.id)
            .where(
                SessionRow.token_hash == token_hash,
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > now,
                UserRow.is_active,
                UserRow.is_service.is_(False),
            )
        ).first()
        if found is None:
            return None
        return to_user(found[0]), to_session(found[1])

    def touch(self, session_id: int, now: datetime) -> None:
        """Record that the session was used."""
        self.session.execute(
            update(SessionRow).where(SessionRow.id == session_id).values(last_seen_at=now)
        )

    def of_user(self, user_id: int, now: datetime) -> list[SignInSession]:
        """A user's live sessions, newest first."""
        rows = self.session.scalars(
            select(SessionRow)
            .where(
                SessionRow.user_id == user_id,
                SessionRow.revoked_at.is_(None),
                SessionRow.expires_at > now,
            )
            .order_by(SessionRow.id.desc())
        )
        return [to_session(r) for r in rows]

    def revoke(self, token_hash: str, now: datetime) -> bool:
        """End one session by its hash; False when there was none live."""
        result = self.session.execute(
            update(SessionRow)
            .where(SessionRow.token_hash == token_hash, SessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return bool(affected(result))

    def revoke_one(self, user_id: int, session_id: int, now: datetime) -> bool:
        """End one of a user's sessions by id; False when it is not theirs or already ended."""
        result = self.session.execute(
            update(SessionRow)
            .where(
                SessionRow.id == session_id,
                SessionRow.user_id == user_id,
                SessionRow.revoked_at.is_(None),
            )
            .values(revoked_at=now)
        )
        return bool(affected(result))

    def revoke_all(self, user_id: int, now: datetime) -> int:
        """End every session of a user; how many were live."""
        result = self.session.execute(
            update(SessionRow)
            .where(SessionRow.user_id == user_id, SessionRow.revoked_at.is_(None))
            .values(revoked_at=now)
        )
        return affected(result)
