"""Signed calls of the callback API: checked, bound to one call, answered once (decision 036).

An endpoint of a signed call starts with ``signed``, which checks the signature and binds it
to the call and analysis (``Callbacks.verify``). ``SignedCallRoute``, the route class of the
callback routes, then keeps the answer the call gives under its signature: a success, or a
4xx exactly as the app's error handlers write it. An identical repeat gets that answer again,
as it was, without running the call. A call that fails on the server's side (5xx, an
unexpected error) keeps nothing, so its repeat runs it again. Routes that ``signed`` never
saw (unsigned calls, a refused signature) pass through untouched.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool

from trapline.api.deps import AUTH_SCHEMES
from trapline.domain.callbacks.callbacks import (
    KEY_ID_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    CallAnswer,
    SignedRequest,
)
from trapline.domain.core.records import User
from trapline.domain.processing.results import Analysis
from trapline.errors import NotAuthenticated
from trapline.http.state import platform_of
from trapline.services.callbacks import signed_calls
from trapline.services.callbacks.callbacks import Callbacks
from trapline.services.core.access import AccessMemo

#: Header on a repeat's answer: it is the first call's answer, given again.
REPLAYED_HEADER = "Idempotent-Replayed"
#: Where ``signed`` leaves the digest the call's answer is kept under (``request.state``).
_DIGEST = "callback_signature_digest"


class _Repeat(Exception):
    """An identical repeat of a signed call: answered with the first call's answer."""

    def __init__(self, answer: CallAnswer) -> None:
        super().__init__("a repeat of a signed call")
        self.answer = answer


async def signed(
    request: Request, analysis_id: int, callbacks: Callbacks, access: AccessMemo
) -> tuple[Analysis, bytes]:
    """The analysis a signed call is for and the call's raw body, once the signature holds
    and is bound to this call; a repeat is answered by the route, not the endpoint."""
    raw = await request.body()
    headers = request.headers
    given = SignedRequest(
        headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER), headers.get(KEY_ID_HEADER)
    )
    source = request.client.host if request.client else "unknown"
    authorization = headers.get("authorization", "")

    def token_user() -> User:
        scheme, _, secret = authorization.strip().partition(" ")
        if scheme.lower() not in AUTH_SCHEMES or not secret.strip():
            raise NotAuthenticated(
                "sign the request (X-ML-Signature, X-ML-Timestamp) or send a member's token"
            )
        return access.user(secret.strip())

    # The route's name, the same under both path prefixes: the call a signature is bound to.
    action = request.scope["route"].name if "route" in request.scope else request.url.path
    call = await run_in_threadpool(
        callbacks.verify, analysis_id, given, raw, source, action, token_user
    )
    if call.repeat is not None:
        raise _Repeat(call.repeat)
    setattr(request.state, _DIGEST, call.digest)
    return call.analysis, raw


class SignedCallRoute(APIRoute):
    """A callback route: a signed call's answer is kept for its repeats (see the module)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def answer_once(request: Request) -> Response:
            try:
                response = await handle(request)
            except _Repeat as repeat:
                answer = repeat.answer
                return Response(
                    answer.body,
                    answer.status,
                    headers={REPLAYED_HEADER: "true"},
                    media_type=answer.media_type,
                )
            except Exception as exc:
                digest: str | None = getattr(request.state, _DIGEST, None)
                rendered = await _rendered(request, exc) if digest else None
                if rendered is None or rendered.status_code >= 500:
                    if digest:
                        db = platform_of(request).db
                        await run_in_threadpool(signed_calls.failed, db, digest)
                    raise
                response = rendered
            await _keep(request, response)
            return response

        return answer_once


async def _keep(request: Request, response: Response) -> None:
    """Keep a signed call's answer for its repeats (nothing for other calls)."""
    digest: str | None = getattr(request.state, _DIGEST, None)
    if digest is None:
        return
    media_type = response.headers.get("content-type", "application/json")
    answer = CallAnswer(response.status_code, media_type, bytes(response.body))
    db = platform_of(request).db
    await run_in_threadpool(signed_calls.answered, db, digest, answer)


async def _rendered(request: Request, exc: Exception) -> Response | None:
    """The answer the app's error handlers give for ``exc`` (None when none handles it), so
    that a kept 4xx is the very answer the call gave."""
    handlers = request.app.exception_handlers
    handler = next((handlers[k] for k in type(exc).__mro__ if k in handlers), None)
    if handler is None:
        return None
    answer = handler(request, exc)
    rendered: Response = await answer if inspect.isawaitable(answer) else answer
    return rendered
