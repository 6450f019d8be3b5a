"""ASGI middleware: request ids and access logs, trailing slashes, request body limits."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trapline.http.limits import Count, budget_for
from trapline.logs import request_id

log = logging.getLogger("trapline.access")

#: A client's X-Request-ID is kept only when it looks like an id, so logs stay clean.
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    """Accepts or makes an X-Request-ID, echoes it, logs one line per request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, b"x-request-id")
        rid = given if given and _CLIENT_ID.match(given) else uuid.uuid4().hex
        token = request_id.set(rid)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
                message["headers"].extend(_security_headers(message["headers"]))
            await send(message)

        started_response = False

        async def tracking_send(message: Message) -> None:
            nonlocal started_response
            started_response = started_response or message["type"] == "http.response.start"
            await send_with_id(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            # Handled here, inside the request's context, so the answer and the log line carry
            # the request id; nothing of the error's text reaches the client.
            log.exception("unhandled error")
            if not started_response:
                detail = f"internal error; report it with request id {rid}"
                await send_json_error(send_with_id, 500, detail, "internal")
        finally:
            duration = round((time.perf_counter() - started) * 1000, 1)
            path = scope.get("path", "")
            log.log(
                logging.DEBUG if status < 400 and is_routine(scope) else logging.INFO,
                "%s %s %s %.1fms",
                scope.get("method"),
                path,
                status,
                duration,
                extra={
                    "method": scope.get("method"),
                    "path": path,
                    "status": status,
                    "duration_ms": duration,
                },
            )
            request_id.reset(token)


#: Requests machines repeat all day: workers' polls, claims, results, lease extensions,
#: image downloads and reads (trapline's worker looks for new projects), and health checks.
#: Logged at DEBUG when they succeed, so an idle server is quiet and a person's requests
#: stand out; a failing one is logged like any other.
_ROUTINE_POSTS = re.compile(r"/api/v2/(tasks/(next|extend)|jobs/\d+/(tasks|result))/?")
_ROUTINE_GETS = re.compile(r"/(livez|readyz|api/v2/blobs/.*)")
#: Query parameters only the worker protocol's job listing takes.
_WORKER_LISTING = (b"ids_only", b"pipeline__slug__in", b"incomplete_only")


def is_routine(scope: Scope) -> bool:
    """True for a request of the kinds machines repeat (see ``_ROUTINE_POSTS``)."""
    method, path = scope.get("method"), scope.get("path", "")
    if method == "POST":
        return _ROUTINE_POSTS.fullmatch(path) is not None
    if method not in ("GET", "HEAD"):
        return False
    if _ROUTINE_GETS.fullmatch(path) or (_header(scope, b"user-agent") or "").startswith(
        "trapline/"
    ):
        return True  # health checks, downloads, and what trapline's worker reads
    query: bytes = scope.get("query_string", b"")
    return path.rstrip("/") == "/api/v2/jobs" and any(p in query for p in _WORKER_LISTING)


async def send_json_error(
    send: Send, status: int, detail: str, code: str, *, close: bool = False
) -> None:
    """Answer with trapline's JSON error from ASGI middleware, outside FastAPI."""
    body = json.dumps({"detail": detail, "code": code}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class StripTrailingSlash:
    """Routes are declared without a trailing slash; a request with one is served the same.

    Rewriting the path (instead of redirecting) keeps POST bodies and saves a round trip.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path: str = scope["path"]
            if len(path) > 1 and path.endswith("/"):
                scope = dict(scope)
                scope["path"] = path.rstrip("/") or "/"
                raw = scope.get("raw_path")
                if raw:
                    scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


class _BodyTooLarge(Exception):
    pass


class BodyLimit:
    """Answers 413 as soon as a request body passes ``max_bytes``: by the declared length or by
    counting the stream as it is read, so nothing past the limit is read, spooled or parsed.
    The connection is then closed, leaving the rest of the body unread. (A file of an upload
    over the limit for one file is refused by name where it is stored, the others kept.)

    A JSON route's body (one with a ``max_body_size``, which its route sets in the request's
    scope before reading the body) is also refused once it opens more JSON objects and arrays,
    or holds more JSON values, than the route's budget (``limits.budget_for``): parsed JSON
    costs far more memory than its bytes, so this bounds what parsing the body may take.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send, self._too_long())
            return
        received = 0
        count = Count()
        refusal: str | None = None
        started = False

        async def counting_receive() -> Message:
            nonlocal received, count, refusal
            message = await receive()
            if message["type"] == "http.request":
                body = message.get("body", b"")
                received += len(body)
                route_limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
                if route_limit is not None:  # a JSON route parses whatever type was declared
                    count = count.add(body)
                if received > self.max_bytes:
                    refusal = self._too_long()
                elif route_limit is not None:
                    refusal = count.over(budget_for(route_limit))
                if refusal is not None:
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if refusal is not None and not started:
                # The app turned our exception into its own error; answer 413 instead.
                started = True
                await self._refuse(send, refusal)
                return
            if refusal is not None:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not started and refusal is not None:
                await self._refuse(send, refusal)

    def _too_long(self) -> str:
        return (
            f"request body is larger than the {self.max_bytes} byte limit; "
            "send fewer or smaller files per request"
        )

    async def _refuse(self, send: Send, detail: str) -> None:
        await send_json_error(send, 413, detail, "too_large", close=True)


#: Sent with every answer: browsers use the Content-Type given, never one guessed from bytes.
_NOSNIFF = (b"x-content-type-options", b"nosniff")


def _security_headers(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [] if any(key.lower() == _NOSNIFF[0] for key, _ in headers) else [_NOSNIFF]


def _header(scope: Scope, name: bytes) -> str | None:
    headers: list[tuple[bytes, bytes]] = scope.get("headers", [])
    for key, value in headers:
        if key == name:
            return value.decode("latin-1")
    return None
