"""Errors trapline raises on purpose. The API maps each to its status code in one place."""

from __future__ import annotations


class TraplineError(Exception):
    """Base of every error meant for a user; ``detail`` says what was wrong and what to do."""

    #: HTTP status the API answers with.
    status_code: int = 500
    #: Short machine-readable slug for the JSON ``code`` field.
    code: str = "error"

    def __init__(self, detail: str, *, code: str | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if code is not None:
            self.code = code


class InvalidInput(TraplineError):
    """The request was understood but its content is wrong; ``field``, when one field is,
    names it (a page shows the error beside that field)."""

    status_code = 400
    code = "invalid"

    def __init__(self, detail: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.field = field


class RejectedRows(InvalidInput):
    """A file of rows was refused as a whole: ``rows`` says what was wrong with its rows (and
    what would have been done with the others); ``not_listed`` rows more are not in it."""

    def __init__(self, detail: str, rows: list[dict[str, object]], not_listed: int = 0) -> None:
        super().__init__(detail)
        self.rows = rows
        self.not_listed = not_listed


class NotAuthenticated(TraplineError):
    """No credentials, or credentials that match no active token."""

    status_code = 401
    code = "not_authenticated"


class PermissionDenied(TraplineError):
    """The caller may see the object but not do this to it."""

    status_code = 403
    code = "permission_denied"


class NotFound(TraplineError):
    """The object does not exist or the caller may not know it exists."""

    status_code = 404
    code = "not_found"


class Conflict(TraplineError):
    """The request clashes with the current state (a duplicate name, the last owner)."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(TraplineError):
    """A file or request body is over the configured limit."""

    status_code = 413
    code = "too_large"


class UnsupportedMediaType(TraplineError):
    """A file is not of a kind trapline accepts."""

    status_code = 415
    code = "unsupported_media_type"


class Unavailable(TraplineError):
    """A backend (database, storage, queue) cannot be reached right now; retry later."""

    status_code = 503
    code = "unavailable"

    def __init__(self, detail: str, *, retry_after: int = 2, code: str | None = None) -> None:
        super().__init__(detail, code=code)
        self.retry_after = retry_after


class QueryTooLong(Unavailable):
    """A query of a web or API request ran past the time a request's query may take (the
    ``database_statement_timeout`` setting) and was stopped; the request should ask for less."""

    code = "query_too_long"


class StorageError(Unavailable):
    """The blob store failed."""

    code = "storage_unavailable"


class MissingDependency(TraplineError):
    """An optional backend was asked for but its package is not installed."""

    code = "missing_dependency"


class TooManyRequests(TraplineError):
    """A limit on how many of something a caller may make was reached."""

    status_code = 429
    code = "too_many"


#: Characters of an unexpected failure's first line kept in the text of ``failure_text``.
FAILURE_CHARS = 300


def failure_text(exc: BaseException) -> str:
    """One line for people saying why background work on an item failed: a TraplineError's
    detail, else the kind of error and the first line of its message (the rest, with the
    traceback, goes to the server log)."""
    if isinstance(exc, TraplineError):
        return exc.detail
    first = (str(exc).strip().splitlines() or [""])[0][:FAILURE_CHARS]
    return f"{type(exc).__name__}: {first}" if first else type(exc).__name__
