"""Lease tokens (``reply_subject``): opaque, unforgeable names of one lease on one task."""

from __future__ import annotations

import base64
import hmac
from dataclasses import dataclass

from trapline.domain.core.tokens import hmac_sha256

#: Marks trapline's tokens (and their format version).
PREFIX = "tl1"


@dataclass(frozen=True)
class LeaseClaim:
    """What a valid lease token says."""

    job_id: int
    task_id: int
    attempt: int
    lease_id: str


class InvalidLeaseToken(ValueError):
    """The token was not made by this server (or was altered)."""


def sign_lease(secret: bytes, claim: LeaseClaim) -> str:
    """The token for ``claim``."""
    body = f"{claim.job_id}.{claim.task_id}.{claim.attempt}.{claim.lease_id}"
    return f"{PREFIX}.{body}.{_mac(secret, body)}"


def read_lease(secret: bytes, token: str) -> LeaseClaim:
    """The claim inside a token; InvalidLeaseToken when it is malformed or forged."""
    parts = token.split(".")
    if len(parts) != 6 or parts[0] != PREFIX:
        raise InvalidLeaseToken("not a trapline lease token")
    body = ".".join(parts[1:5])
    if not hmac.compare_digest(parts[5].encode(), _mac(secret, body).encode()):
        raise InvalidLeaseToken("lease token signature does not match")
    try:
        return LeaseClaim(int(parts[1]), int(parts[2]), int(parts[3]), parts[4])
    except ValueError as exc:
        raise InvalidLeaseToken("malformed lease token") from exc


def _mac(secret: bytes, body: str) -> str:
    digest = hmac_sha256(secret, b"lease:" + body.encode())[:18]
    return base64.urlsafe_b64encode(digest).decode()
