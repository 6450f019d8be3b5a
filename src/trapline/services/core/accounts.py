"""People's accounts: passwords, web sessions, and what admins do with users."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.records import SignInSession, User
from trapline.domain.core.tokens import hash_token, new_token
from trapline.errors import InvalidInput, NotAuthenticated, NotFound, PermissionDenied
from trapline.services.core.access import require, require_person
from trapline.services.core.passwords import hash_password, new_password, verify_password
from trapline.services.core.users import NewToken, make_token

#: Prefix of session secrets (they never leave the cookie; the prefix tells them from tokens).
SESSION_PREFIX = "tls_"
#: What a failed sign-in says, whichever of email and password was wrong.
WRONG_CREDENTIALS = "wrong email or password"


@dataclass(frozen=True)
class SignedIn:
    """A new session: the only moment its secret is known."""

    user: User
    session: SignInSession
    secret: str


def require_admin(caller: User | None, what: str) -> None:
    """Nothing for admins and the local command line (``caller`` None); else PermissionDenied."""
    if caller is not None and not require_person(caller).is_admin:
        raise PermissionDenied(f"only admins can {what}")


def set_password(db: Database, caller: User | None, user_id: int, password: str) -> User:
    """Give a person a password (admins, themselves, or the command line)."""
    if caller is None or caller.id != user_id:
        require_admin(caller, "set another user's password")
    hashed = hash_password(password)
    with db.write() as repos:
        user = require(repos.core.users.get(user_id), "user", user_id)
        if user.is_service:
            raise InvalidInput("service accounts sign in with tokens, not passwords")
        repos.core.users.set_password_hash(user_id, hashed)
        # A new password ends every session the old one opened.
        repos.core.sessions.revoke_all(user_id, utcnow())
    return user


def change_own_password(db: Database, caller: User, current: str, password: str) -> User:
    """A person's new password, once the current one is given right (a session left open in
    someone else's hands cannot take the account over); NotAuthenticated when it is wrong."""
    with db.read() as repos:
        found = repos.core.users.password_hash(caller.email)
    stored = found[1] if found else None
    if not verify_password(stored, current):
        raise NotAuthenticated("the current password is not right")
    return set_password(db, caller, caller.id, password)


def set_password_for_email(db: Database, email: str, password: str | None) -> tuple[User, str]:
    """The command line's ``set-password``: a given or random password; returns it."""
    with db.read() as repos:
        user = repos.core.users.by_email(email)
    if user is None:
        raise NotFound(f"no user with email {email}; create one with `trapline admin create-user`")
    chosen = password if password is not None else new_password()
    return set_password(db, None, user.id, chosen), chosen


def reset_password(db: Database, caller: User, user_id: int) -> str:
    """A new random password for a user (admins); shown once."""
    require_admin(caller, "reset passwords")
    password = new_password()
    set_password(db, caller, user_id, password)
    return password


def sign_in_key(db: Database, email: str) -> str:
    """What failed sign-ins of ``email`` are counted under: the email with a digest of its
    stored password hash, so that a new password (a reset) starts the count afresh."""
    with db.read() as repos:
        found = repos.core.users.password_hash(email)
    stored = (found[1] if found else None) or ""
    digest = hashlib.sha256(stored.encode()).hexdigest()[:16]
    return f"{email.strip().lower()}#{digest}"


def sign_in(
    db: Database, email: str, password: str, *, lifetime: timedelta, user_agent: str = ""
) -> SignedIn:
    """Check a person's email and password and open a session; NotAuthenticated if wrong."""
    with db.read() as repos:
        found = repos.core.users.password_hash(email)
    user, stored = found if found else (None, None)
    # The hash is always checked, so an unknown email takes as long as a wrong password.
    matches = verify_password(stored, password)
    if user is None or not matches or not user.is_active or user.is_service:
        raise NotAuthenticated(WRONG_CREDENTIALS)
    secret = new_token(SESSION_PREFIX)
    with db.write() as repos:
        session = repos.core.sessions.create(
            user.id, hash_token(secret), utcnow() + lifetime, user_agent[:200]
        )
    return SignedIn(user, session, secret)


def session_user(db: Database, secret: str) -> tuple[User, SignInSession]:
    """The person a session secret belongs to; NotAuthenticated when it is not live."""
    now = utcnow()
    with db.read() as repos:
        found = repos.core.sessions.authenticate(hash_token(secret), now)
    if found is None:
        raise NotAuthenticated("your session ended; sign in again")
    user, session = found
    if now - session.last_seen_at > timedelta(minutes=1):
        with db.write() as repos:
            repos.core.sessions.touch(session.id, now)
    return user, session


def sign_out(db: Database, secret: str) -> None:
    """End the session of this secret (nothing when there is none)."""
    with db.write() as repos:
        repos.core.sessions.revoke(hash_token(secret), utcnow())


def list_sessions(db: Database, user: User) -> list[SignInSession]:
    """A person's live sessions."""
    with db.read() as repos:
        return repos.core.sessions.of_user(user.id, utcnow())


def end_session(db: Database, user: User, session_id: int) -> None:
    """End one of your own sessions."""
    with db.write() as repos:
        if not repos.core.sessions.revoke_one(user.id, session_id, utcnow()):
            raise NotFound(f"session {session_id} not found")


def list_users(db: Database, caller: User, *, limit: int, offset: int) -> tuple[int, list[User]]:
    """Every account (admins)."""
    require_admin(caller, "list users")
    with db.read() as repos:
        return repos.core.users.page(limit, offset)


def get_user(db: Database, caller: User, user_id: int) -> User:
    """One account (admins)."""
    require_admin(caller, "read other users")
    with db.read() as repos:
        return require(repos.core.users.get(user_id), "user", user_id)


def set_active(db: Database, caller: User | None, user_id: int, active: bool) -> User:
    """Let an account in again, or keep it out (admins): its tokens and sessions stop working."""
    require_admin(caller, "deactivate users")
    if caller is not None and caller.id == user_id and not active:
        raise InvalidInput("you cannot deactivate yourself; ask another admin")
    with db.write() as repos:
        require(repos.core.users.get(user_id), "user", user_id)
        repos.core.users.set_active(user_id, active)
        if not active:
            repos.core.sessions.revoke_all(user_id, utcnow())
        user = repos.core.users.get(user_id)
    assert user is not None
    return user


def token_for_user(db: Database, caller: User, user_id: int, name: str) -> NewToken:
    """A new API token for another account (admins); its secret is returned once."""
    require_admin(caller, "issue tokens for other users")
    with db.read() as repos:
        user = require(repos.core.users.get(user_id), "user", user_id)
    if not user.is_active:
        raise InvalidInput(f"user {user_id} is deactivated; activate them first")
    return make_token(db, user, name)
