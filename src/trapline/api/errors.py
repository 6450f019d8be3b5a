"""The one place errors become HTTP answers: JSON ``{"detail", "code"}`` for every error."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from trapline.errors import TraplineError, Unavailable

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
    status: int, detail: str, code: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error every failure answers with."""
    return JSONResponse({"detail": detail, "code": code}, status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map trapline errors, validation errors and stray exceptions to JSON answers."""

    @app.exception_handler(TraplineError)
    async def _trapline_error(_: Request, exc: TraplineError) -> JSONResponse:
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Unavailable) else None
        if exc.status_code == 401:
            headers = {"WWW-Authenticate": 'Token realm="trapline"'}
        return error_response(exc.status_code, exc.detail, exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(400, describe_validation_errors(exc.errors()), "invalid")

    @app.exception_handler(ValidationError)
    async def _invalid_model(_: Request, exc: ValidationError) -> JSONResponse:
        # Bodies a route validates itself (worker protocol) fail the same way as declared ones.
        return error_response(400, describe_validation_errors(exc.errors()), "invalid")

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = "no such endpoint; see /api/v2/docs for the API"
        code = _HTTP_CODES.get(exc.status_code, "error")
        return error_response(exc.status_code, detail, code, getattr(exc, "headers", None))


def describe_validation_errors(errors: Any) -> str:
    """One sentence per problem, naming the field and what was given."""
    parts = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
        where = ".".join(location) or "body"
        kind = error.get("type", "")
        if kind == "json_invalid":
            parts.append(
                "the request body is not valid JSON: " + str(error.get("ctx", {}).get("error", ""))
            )
            continue
        if kind == "missing":
            parts.append(f"{where} is required")
            continue
        message = str(error.get("msg", "invalid value"))
        given = error.get("input")
        if given is not None and not isinstance(given, dict | list) and len(str(given)) < 80:
            message += f" (got {given!r})"
        parts.append(f"{where}: {message}")
    return "; ".join(parts) or "invalid request"
