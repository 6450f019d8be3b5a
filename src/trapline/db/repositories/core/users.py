"""Users and their API tokens."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from trapline.db.tables import ApiTokenRow, UserRow
from trapline.db.types import access_changed, affected, utcnow
from trapline.domain.core.records import ApiToken, User
from trapline.errors import Conflict

#: ``last_used_at`` is written at most this often per token, so reads don't turn into writes.
LAST_USED_RESOLUTION = timedelta(minutes=1)
#: Who did something, as pages and exports name them: the user's name, else their e-mail
#: address.
USER_NAME = func.coalesce(func.nullif(UserRow.name, ""), UserRow.email)


def to_user(row: UserRow) -> User:
    """Record from a row."""
    return User(
        id=row.id,
        email=row.email,
        name=row.name,
        is_admin=row.is_admin,
        is_active=row.is_active,
        created_at=row.created_at,
        is_service=row.is_service,
    )


def to_token(row: ApiTokenRow) -> ApiToken:
    """Record from a row."""
    return ApiToken(
        id=row.id,
        user_id=row.user_id,
        name=row.name,
        prefix=row.prefix,
        created_at=row.created_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
    )


class UserRepo:
    """Users and tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def create(
        self, email: str, name: str, *, is_admin: bool = False, is_service: bool = False
    ) -> User:
        """Add a user; Conflict when the email is taken."""
        row = UserRow(
            email=email.strip().lower(), name=name, is_admin=is_admin, is_service=is_service
        )
        self.session.add(row)
        try:
            with self.session.begin_nested():
                self.session.flush()
        except IntegrityError as exc:
            raise Conflict(f"a user with email {email} already exists") from exc
        return to_user(row)

    def get(self, user_id: int) -> User | None:
        """The user with this id."""
        row = self.session.get(UserRow, user_id)
        return to_user(row) if row else None

    def by_email(self, email: str) -> User | None:
        """The user with this email (case-insensitive)."""
        row = self._of_email(email)
        return to_user(row) if row else None

    def page(self, limit: int, offset: int) -> tuple[int, list[User]]:
        """Every account by id, and how many there are."""
        total = self.session.scalar(select(func.count()).select_from(UserRow)) or 0
        rows = self.session.scalars(
            select(UserRow).order_by(UserRow.id).limit(limit).offset(offset)
        )
        return total, [to_user(r) for r in rows]

    def password_hash(self, email: str) -> tuple[User, str | None] | None:
        """The user with this email and their password hash."""
        row = self._of_email(email)
        return (to_user(row), row.password_hash) if row else None

    def _of_email(self, email: str) -> UserRow | None:
        key = email.strip().lower()
        if "\x00" in key:  # no address holds one, and PostgreSQL refuses it as a parameter
            return None
        return self.session.scalar(select(UserRow).where(UserRow.email == key))

    def set_password_hash(self, user_id: int, password_hash: str | None) -> bool:
        """Store a new password hash; False when there is no such user."""
        result = self.session.execute(
            update(UserRow).where(UserRow.id == user_id).values(password_hash=password_hash)
        )
        return bool(affected(result))

    def set_active(self, user_id: int, active: bool) -> bool:
        """Let a user in or keep them out; False when there is no such user."""
        access_changed(self.session)
        result = self.session.execute(
            update(UserRow).where(UserRow.id == user_id).values(is_active=active)
        )
        return bool(affected(result))

    def add_token(self, user_id: int, name: str, prefix: str, token_hash: str) -> ApiToken:
        """Store a new token's hash."""
        row = ApiTokenRow(user_id=user_id, name=name, prefix=prefix, token_hash=token_hash)
        self.session.add(row)
        self.session.flush()
        return to_token(row)

    def authenticate(self, token_hash: str) -> tuple[User, ApiToken] | None:
        """The active user and live token matching a token hash."""
        found = self.session.execute(
            select(UserRow, ApiTokenRow)
            .join(ApiTokenRow, ApiTokenRow.user_id == UserRow.id)
            .where(
                ApiTokenRow.token_hash == token_hash,
                ApiTokenRow.revoked_at.is_(None),
                UserRow.is_active,
            )
        ).first()
        if found is None:
            return None
        return to_user(found[0]), to_token(found[1])

    def touch_token(self, token_id: int, now: datetime) -> None:
        """Record that a token was used, unless that was recorded less than a minute ago."""
        self.session.execute(
            update(ApiTokenRow)
            .where(
                ApiTokenRow.id == token_id,
                (ApiTokenRow.last_used_at.is_(None))
                | (ApiTokenRow.last_used_at < now - LAST_USED_RESOLUTION),
            )
            .values(last_used_at=now)
        )

    def tokens_of(self, user_id: int) -> list[ApiToken]:
        """A user's tokens, newest first, revoked ones included."""
        rows = self.session.scalars(
            select(ApiTokenRow)
            .where(ApiTokenRow.user_id == user_id)
            .order_by(ApiTokenRow.id.desc())
        )
        return [to_token(r) for r in rows]

    def revoke_token(self, user_id: int, token_id: int) -> bool:
        """Revoke one of the user's tokens; False when it is not theirs or already revoked."""
        access_changed(self.session)
        result = self.session.execute(
            update(ApiTokenRow)
            .where(
                ApiTokenRow.id == token_id,
                ApiTokenRow.user_id == user_id,
                ApiTokenRow.revoked_at.is_(None),
            )
            .values(revoked_at=utcnow())
        )
        return bool(affected(result))

    def needs_touch(self, token: ApiToken, now: datetime) -> bool:
        """Whether ``touch_token`` would write anything."""
        return token.last_used_at is None or token.last_used_at < now - LAST_USED_RESOLUTION
