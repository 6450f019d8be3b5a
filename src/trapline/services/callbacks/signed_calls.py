"""Signed callback calls answered once (decision 036).

The guide's signature covers the timestamp and the body, not the path: by itself it would be
good for any call of any analysis whose project shares the secret. So an accepted signature
is recorded with the one call (the route) and analysis it was first used on, and that call's
answer: the same signature elsewhere is refused, and an identical repeat (a client's retry)
gets the first answer again without a second effect.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime
from typing import NamedTuple

from trapline.db.engine import Database
from trapline.domain.callbacks.callbacks import CallAnswer
from trapline.domain.processing.results import Analysis
from trapline.errors import Conflict, Unavailable

log = logging.getLogger(__name__)

#: What a signature used on another call or analysis answers (409).
USED_ELSEWHERE = (
    "this signature was already used for another call or analysis, and a signature is good "
    "for one call only; sign this request afresh with a new timestamp (the same body signed "
    "in the same second gives the same signature: sign the second request with the next "
    "second's timestamp)"
)
#: What a repeat answers while the first call with its signature is still running (503).
IN_PROGRESS = (
    "the first request with this signature is still being answered; repeat it after the "
    "Retry-After seconds to get its answer (if this lasts, the server that took it stopped: "
    "sign the request afresh)"
)
#: Seconds a repeat of a running call is told to wait.
RETRY_AFTER = 1
#: Claims tried when the first call's record vanishes in between (that call failed).
_CLAIM_TRIES = 3


class SignedCall(NamedTuple):
    """A call whose signature (or, when HMAC is not required, token) checked out."""

    analysis: Analysis
    #: Key of the call's answer once it is answered; None when there is nothing to keep
    #: (a call by token, or a repeat).
    digest: str | None = None
    #: The first call's answer, when this is an identical repeat of it.
    repeat: CallAnswer | None = None


def claim(
    db: Database, analysis: Analysis, signature: str, action: str, expires_at: datetime
) -> SignedCall:
    """Bind an accepted signature to this call and analysis, or find the call it is bound to.

    Conflict when it is bound to another call or analysis; Unavailable (503, Retry-After)
    while the first call is still running.
    """
    digest = hashlib.sha256(signature.encode()).hexdigest()
    for _ in range(_CLAIM_TRIES):
        with db.write() as repos:
            if repos.callbacks.callbacks.claim_signature(digest, analysis.id, action, expires_at):
                return SignedCall(analysis, digest)
            use = repos.callbacks.callbacks.signature_use(digest)
        if use is None:
            continue  # its first call failed on the server's side and was forgotten: run
        if (use.analysis_id, use.action) != (analysis.id, action):
            log.warning(
                "callback signature of %s on analysis %s used again for %s on analysis %s",
                use.action,
                use.analysis_id,
                action,
                analysis.id,
            )
            raise Conflict(USED_ELSEWHERE, code="signature_used_elsewhere")
        if use.answer is not None:
            return SignedCall(analysis, repeat=use.answer)
        break
    raise Unavailable(IN_PROGRESS, retry_after=RETRY_AFTER, code="signature_in_progress")


def answered(db: Database, digest: str, answer: CallAnswer) -> None:
    """Keep a call's answer for its repeats; an answer of a server's failure (5xx) is not
    kept but forgotten with the signature, so that a repeat runs the call again."""
    with db.write() as repos:
        if answer.status >= 500:
            repos.callbacks.callbacks.release_signature(digest)
        else:
            repos.callbacks.callbacks.keep_answer(digest, answer)


def failed(db: Database, digest: str) -> None:
    """Forget the signature of a call that ended without an answer (an unexpected error)."""
    with db.write() as repos:
        repos.callbacks.callbacks.release_signature(digest)
