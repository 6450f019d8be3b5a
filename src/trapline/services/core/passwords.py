"""Passwords for signing in to the web app: argon2id hashes, never the password itself."""

from __future__ import annotations

import secrets
from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from trapline.errors import InvalidInput

#: Shortest password accepted: a person's password must resist guessing at the rate limit.
MIN_LENGTH = 10
#: Longest: argon2 hashes any length, but a megabyte password is a denial of service.
MAX_LENGTH = 256

#: argon2id with the library's defaults (RFC 9106's second recommended setting).
_HASHER = PasswordHasher()


@cache
def _dummy() -> str:
    """A hash checked when there is no account, so a wrong email costs as long as a wrong
    password (made on first use: hashing at import would slow every process's start)."""
    return _HASHER.hash(secrets.token_urlsafe(16))


def new_password() -> str:
    """A random password of 24 characters (144 bits), for first runs and resets."""
    return secrets.token_urlsafe(18)


def check_password(password: str) -> str:
    """``password`` if it is acceptable, else InvalidInput saying what to change."""
    if not MIN_LENGTH <= len(password) <= MAX_LENGTH:
        raise InvalidInput(
            f"password: use {MIN_LENGTH} to {MAX_LENGTH} characters (got {len(password)})"
        )
    if "\x00" in password:
        raise InvalidInput("password: must not contain a NUL character")
    return password


def hash_password(password: str) -> str:
    """The stored form of a password."""
    return _HASHER.hash(check_password(password))


def verify_password(stored: str | None, password: str) -> bool:
    """Whether ``password`` matches ``stored``; with no hash, the same work is done for nothing."""
    if len(password) > MAX_LENGTH:
        return False
    try:
        return _HASHER.verify(stored or _dummy(), password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False
