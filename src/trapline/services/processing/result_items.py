"""Step 1 of storing results: the items of a post, each with its lease checked and what the
worker says of its task (``results.py`` judges and stores them)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from trapline.domain.processing.lease_tokens import InvalidLeaseToken, LeaseClaim, read_lease
from trapline.protocol.base import describe_problem
from trapline.protocol.results import (
    PipelineResultsResponse,
    ResultError,
    ResultItem,
    TypedResultItem,
)
from trapline.services.processing.result_body import (
    PendingResult,
    ReadPost,
    Refusal,
    StreamedResult,
)

#: What an item says of its task: a result (maybe still in the body), an error report, or why
#: it cannot be read.
Outcome = PipelineResultsResponse | ResultError | Refusal | PendingResult | StreamedResult


@dataclass(frozen=True, slots=True)
class Posted:
    """One result item as read: whose task it is (its lease) and what the worker says of it."""

    reply_subject: str | None
    claim: LeaseClaim | None
    outcome: Outcome


def posted_items(post: ReadPost, secret: bytes, job_id: int) -> list[Posted]:
    """Step 1 for a post as read from its body: each item's lease checked; its result stays in
    the body until it is judged."""
    posted = []
    for item in post.items:
        lease = _lease(item.reply_subject, secret, job_id)
        if isinstance(lease, Posted):
            posted.append(lease)
            continue
        token, claim = lease
        if item.result is None:
            why = "result must be an object: a pipeline result or {error, image_id}"
            posted.append(Posted(token, claim, Refusal(why)))
        else:
            posted.append(Posted(token, claim, item.result))
    return posted


def read_items(
    items: Sequence[TypedResultItem | ResultItem], secret: bytes, job_id: int
) -> list[Posted]:
    """Step 1 for items already parsed: each item's lease checked and its result typed."""
    return [_read_item(item, secret, job_id) for item in items]


def _lease(reply_subject: Any, secret: bytes, job_id: int) -> tuple[str, LeaseClaim] | Posted:
    """The lease an item names, or the item refused for it."""
    token = reply_subject if isinstance(reply_subject, str) else None
    if not token:
        why = "reply_subject is missing; send back the one the task came with"
        return Posted(None, None, Refusal(why))
    try:
        claim = read_lease(secret, token)
    except InvalidLeaseToken as exc:
        return Posted(token, None, Refusal(f"reply_subject is not valid: {exc}"))
    if claim.job_id != job_id:
        why = f"this reply_subject belongs to job {claim.job_id}, not {job_id}"
        return Posted(token, claim, Refusal(why))
    return token, claim


def _read_item(item: TypedResultItem | ResultItem, secret: bytes, job_id: int) -> Posted:
    lease = _lease(item.reply_subject, secret, job_id)
    if isinstance(lease, Posted):
        return lease
    token, claim = lease
    if isinstance(item, TypedResultItem):
        return Posted(token, claim, item.result)
    if not isinstance(item.result, dict):
        why = "result must be an object: a pipeline result or {error, image_id}"
        return Posted(token, claim, Refusal(why))
    kind = ResultError if "error" in item.result else PipelineResultsResponse
    try:
        return Posted(token, claim, kind.model_validate(item.result))
    except ValidationError as exc:
        why = f"result is not valid: {describe_problem(exc.errors()[0])}"
        return Posted(token, claim, Refusal(why))
