"""The one place errors become HTTP answers: JSON ``{"detail", "code"}`` for every error."""

from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.body_limit import MAX_BODY_SIZE_SCOPE_KEY
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trapline.errors import RejectedRows, TraplineError, Unavailable
from trapline.protocol.base import describe_problem

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    413: "too_large",
    415: "unsupported_media_type",
}


def error_response(
    status: int,
    detail: str,
    code: str,
    headers: dict[str, str] | None = None,
    rows: list[dict[str, object]] | None = None,
    rows_not_listed: int = 0,
) -> JSONResponse:
    """The JSON error every failure answers with (``rows``: a refused file's per-row
    outcomes, ``rows_not_listed`` more left out)."""
    body: dict[str, object] = {"detail": detail, "code": code}
    if rows is not None:
        body["rows"] = rows
        body["rows_not_listed"] = rows_not_listed
    return JSONResponse(body, status_code=status, headers=headers)


def too_large_detail(limit: object) -> str:
    """What a 413 for a body over a route's ``max_body_size`` says."""
    if isinstance(limit, int):
        return f"the request body is over this endpoint's limit of {limit} bytes"
    return "the request body is over this endpoint's limit"


class JsonTooLarge:
    """Rewrites the framework's plain-text 413 for a body over a route's limit as JSON.

    A route's ``max_body_size`` answers a declared Content-Length over the limit with its own
    plain-text 413, whatever the error handlers answer; every error here is JSON.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        replacing = False

        async def sending(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 413:
                headers = dict(message.get("headers", []))
                replacing = headers.get(b"content-type", b"").startswith(b"text/plain")
                if replacing:
                    limit = scope.get(MAX_BODY_SIZE_SCOPE_KEY)
                    await error_response(413, too_large_detail(limit), "too_large")(
                        scope, receive, send
                    )
                    return
            if replacing:
                return
            await send(message)

        await self.app(scope, receive, sending)


def install_error_handlers(app: FastAPI) -> None:
    """Map trapline errors, validation errors and stray exceptions to JSON answers."""

    @app.exception_handler(TraplineError)
    async def _trapline_error(_: Request, exc: TraplineError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": 'Token realm="trapline"'}
        if isinstance(exc, RejectedRows):
            return error_response(
                exc.status_code, exc.detail, exc.code, headers, exc.rows, exc.not_listed
            )
        return error_response(exc.status_code, exc.detail, exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_validation_errors(exc.errors()), "invalid")

    @app.exception_handler(ValidationError)
    async def _invalid_model(_: Request, exc: ValidationError) -> JSONResponse:
        # Bodies a route validates itself (worker protocol) fail the same way as declared ones.
        return error_response(400, describe_validation_errors(exc.errors()), "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; see /api/v2/docs for the API"
        if exc.status_code == 413 and MAX_BODY_SIZE_SCOPE_KEY in request.scope:
            # A route's max_body_size, which the framework enforces while the body arrives.
            detail = too_large_detail(request.scope[MAX_BODY_SIZE_SCOPE_KEY])
        if exc.status_code == 400 and detail == "There was an error parsing the body":
            # FastAPI's answer to a body its JSON parser gave up on (nested too deep).
            detail = "the request body could not be parsed as JSON (is it nested too deep?)"
        code = _HTTP_CODES.get(exc.status_code, "error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405 and (allow := allowed_methods(request.app, request.url.path)):
            headers = {**(headers or {}), "Allow": allow}
        return error_response(exc.status_code, detail, code, headers)


def describe_validation_errors(errors: Any) -> str:
    """One sentence per problem, naming the field and what was given."""
    return "; ".join(describe_problem(error) for error in errors) or "invalid request"


#: The methods an ``Allow`` header names.
_METHODS = {"get", "post", "put", "patch", "delete"}


def allowed_methods(app: FastAPI, path: str) -> str | None:
    """The ``Allow`` header for ``path``: every method the document gives it, or None.

    Starlette's 405 names only the methods of the first route whose path matched, while one
    path is often several routes (GET and POST of a listing).
    """
    table: list[tuple[re.Pattern[str], str]] | None = getattr(app.state, "allow_table", None)
    if table is None:
        table = []
        for template, item in app.openapi().get("paths", {}).items():
            methods = [m.upper() for m in item if m in _METHODS]
            pattern = re.sub(r"\\\{[^}]+\\\}", "[^/]+", re.escape(template))
            table.append((re.compile(pattern + "/?"), ", ".join(sorted(methods))))
        app.state.allow_table = table
    return next((allow for pattern, allow in table if pattern.fullmatch(path)), None)
