"""Rules of the callback API: signatures, the analysis life cycle, artifact kinds (pure)."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import NamedTuple

from trapline.domain.processing.results import AnalysisStatus

#: Header carrying ``sha256=<hex of HMAC-SHA256(secret, timestamp + "." + raw body)>``.
SIGNATURE_HEADER = "X-ML-Signature"
#: Header carrying the Unix time (seconds) the signature was made at.
TIMESTAMP_HEADER = "X-ML-Timestamp"
#: Header naming which project callback secret signed the request (optional).
KEY_ID_HEADER = "X-ML-Key-Id"

_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")
_TIMESTAMP = re.compile(r"^[0-9]{1,12}$")


class SignatureProblem(StrEnum):
    """Which check a signed request failed; each is its own 401 message and counter."""

    MISSING_HEADER = "missing_header"
    BAD_FORMAT = "bad_format"
    SKEW = "skew"
    UNKNOWN_KEY = "unknown_key"
    MISMATCH = "mismatch"


#: What a caller is told for each problem (never the expected signature).
PROBLEM_MESSAGES = {
    SignatureProblem.MISSING_HEADER: (
        "the request is not signed: send X-ML-Signature: sha256=<hex> and X-ML-Timestamp: "
        "<unix seconds>"
    ),
    SignatureProblem.BAD_FORMAT: (
        "X-ML-Signature must be sha256= and 64 hex digits, and X-ML-Timestamp whole Unix seconds"
    ),
    SignatureProblem.SKEW: (
        "X-ML-Timestamp is too far from the server's clock (more than {skew} s either way); "
        "sign with the current time and check the clock"
    ),
    SignatureProblem.MISMATCH: (
        "X-ML-Signature does not match: sign timestamp + '.' + the exact body bytes sent, with "
        "an active secret (the one X-ML-Key-Id names, when it is sent)"
    ),
}
#: A key id that names no secret of the analysis's project is told exactly as a mismatch (it
#: is counted apart): a different answer would tell which analyses are the project's.
PROBLEM_MESSAGES[SignatureProblem.UNKNOWN_KEY] = PROBLEM_MESSAGES[SignatureProblem.MISMATCH]


class BadSignature(Exception):
    """A signed request that fails a check."""

    def __init__(self, problem: SignatureProblem, skew: int = 0) -> None:
        super().__init__(PROBLEM_MESSAGES[problem].format(skew=skew))
        self.problem = problem


class SignedRequest(NamedTuple):
    """The signature headers of a request, as sent (None when absent)."""

    signature: str | None
    timestamp: str | None
    key_id: str | None


def sign(secret: bytes, timestamp: str, body: bytes) -> str:
    """The header value a pipeline sends: ``sha256=<hex>``."""
    mac = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check_signature(
    request: SignedRequest,
    body: bytes,
    secrets: Sequence[bytes],
    *,
    now: float,
    max_skew: int,
) -> str:
    """The accepted signature's hex digest, or BadSignature naming the check that failed.

    Every secret is tried, each comparison in constant time, over the raw body bytes.
    """
    if not request.signature or not request.timestamp:
        raise BadSignature(SignatureProblem.MISSING_HEADER)
    matched = _SIGNATURE.match(request.signature.strip())
    stamp = request.timestamp.strip()
    if matched is None or not _TIMESTAMP.match(stamp):
        raise BadSignature(SignatureProblem.BAD_FORMAT)
    if abs(now - int(stamp)) > max_skew:
        raise BadSignature(SignatureProblem.SKEW, max_skew)
    given = matched.group(1).lower().encode()
    message = stamp.encode() + b"." + body
    found = False
    for secret in secrets:
        expected = hmac.new(secret, message, hashlib.sha256).hexdigest().encode()
        # No early exit: the time taken does not tell which secret (if any) matched.
        found |= hmac.compare_digest(expected, given)
    if not found:
        raise BadSignature(SignatureProblem.MISMATCH)
    return given.decode()


#: Where an analysis may go from each status; staying where it is is always a no-op.
TRANSITIONS: dict[AnalysisStatus, frozenset[AnalysisStatus]] = {
    AnalysisStatus.QUEUED: frozenset(
        {AnalysisStatus.PROCESSING, AnalysisStatus.COMPLETED, AnalysisStatus.FAILED}
    ),
    AnalysisStatus.PROCESSING: frozenset({AnalysisStatus.COMPLETED, AnalysisStatus.FAILED}),
    AnalysisStatus.COMPLETED: frozenset(),
    AnalysisStatus.FAILED: frozenset(),
}


class IllegalTransition(Exception):
    """A status change the life cycle does not allow."""


def check_transition(current: AnalysisStatus, wanted: AnalysisStatus) -> bool:
    """Whether the change writes anything (False: already there); IllegalTransition if
    the life cycle forbids it."""
    if current is wanted:
        return False
    if wanted not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "nothing"
        raise IllegalTransition(
            f"the analysis is {current.value} and cannot become {wanted.value} "
            f"(from {current.value} it may become: {allowed})"
        )
    return True


class ArtifactType(StrEnum):
    """Files an analysis may upload."""

    HEATMAP = "heatmap"
    MASK = "mask"
    SEGMENTATION = "segmentation"
    LOG = "log"
    METADATA = "metadata"


#: The content type each kind of artifact is uploaded with.
ARTIFACT_CONTENT_TYPES = {
    ArtifactType.HEATMAP: "image/png",
    ArtifactType.MASK: "image/png",
    ArtifactType.SEGMENTATION: "image/png",
    ArtifactType.LOG: "text/plain",
    ArtifactType.METADATA: "application/json",
}

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def artifact_key(project_id: int, analysis_id: int, kind: ArtifactType, tag: str, name: str) -> str:
    """Where an artifact goes: per project and analysis; ``tag`` (random) keeps each upload
    its own blob, and the file name is reduced to safe characters."""
    safe = _UNSAFE.sub("_", name).strip("._-")[:100] or "file"
    return f"artifacts/{project_id}/{analysis_id}/{kind.value}/{tag}-{safe}"


def canonical_digest(item: bytes) -> str:
    """SHA-256 of an annotation's canonical JSON: its validated fields, always in the same
    order, without spaces, so the same annotation has the same digest however it was
    spelled on the wire."""
    return hashlib.sha256(item).hexdigest()


class Artifact(NamedTuple):
    """A file an analysis asked to upload; ``storage_key`` is its ``storage_path``."""

    id: int
    analysis_id: int
    artifact_type: ArtifactType
    filename: str
    content_type: str
    storage_key: str


class CallbackSecret(NamedTuple):
    """A project's callback secret, as listed (never its value)."""

    id: int
    project_id: int
    key_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None


class CallAnswer(NamedTuple):
    """What a signed call answered the first time; an identical repeat gets it again."""

    status: int
    media_type: str
    body: bytes


class SignatureUse(NamedTuple):
    """The one call an accepted signature is good for, and its answer once it has one."""

    analysis_id: int
    #: The call (the route's name: ``set_status``, ``finalize`` …).
    action: str
    #: None while the first call is still running.
    answer: CallAnswer | None
