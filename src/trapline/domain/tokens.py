"""API tokens: high-entropy secrets shown once and stored only as a SHA-256 hash."""

from __future__ import annotations

import hashlib
import secrets

#: Every user token starts with this, so leaked tokens are easy to recognise in logs and scans.
USER_TOKEN_PREFIX = "tl_"  # noqa: S105 - a prefix, not a secret
#: Characters of the token kept in clear (with the prefix) to tell tokens apart in listings.
VISIBLE_CHARS = 8


def new_token(prefix: str = USER_TOKEN_PREFIX) -> str:
    """A fresh token with 256 bits of entropy."""
    return prefix + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """The stored form of a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def visible_prefix(token: str) -> str:
    """The part of a token shown in listings (``tl_AbCdEfGh``)."""
    head, _, rest = token.partition("_")
    return f"{head}_{rest[:VISIBLE_CHARS]}" if rest else token[:VISIBLE_CHARS]
