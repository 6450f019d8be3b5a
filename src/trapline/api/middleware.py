"""ASGI middleware: request ids and access logs, trailing slashes, request body limits."""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
            log.info(
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
    """Answers 413 for a request body over ``max_bytes``, by header or by counting the stream."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        received = 0
        exceeded = False
        started = False

        async def counting_receive() -> Message:
            nonlocal received, exceeded
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    exceeded = True
                    raise _BodyTooLarge
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal started
            if exceeded and not started:
                # The app turned our exception into its own error; answer 413 instead.
                started = True
                await self._refuse(send)
                return
            if exceeded:
                return
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, guarded_send)
        except _BodyTooLarge:
            if not started:
                await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        detail = (
            f"request body is larger than the {self.max_bytes} byte limit; "
            "send fewer or smaller files per request"
        )
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
