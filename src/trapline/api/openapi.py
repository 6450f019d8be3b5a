"""The OpenAPI document, made to say what the API really answers.

FastAPI documents a 422 for validation errors, which trapline never sends (they are 400s in the
one error shape), and nothing of the errors every route can answer. One pass over the
generated document fixes both, by rules that hold for every route, rather than per route.
The rules a request its schema allows may break are listed in its operation's 400, from
``api/business_rules.py``.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from trapline.api.business_rules import RULES
from trapline.schemas.common import ErrorOut

_ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
_WRITES = {"post", "put", "patch", "delete"}
#: The query parameter of a signed link (the blob store's), which answers 403 when it is wrong.
_SIGNATURE = "sig"

#: Why each error status is answered; documented on the operations where the rules below say
#: it can happen.
_REASONS = {
    400: "The request is not valid: a parameter or the body (the detail names the field).",
    401: "No token, or one that matches no active account.",
    403: "Your role in the project (or the link's signature) does not allow this.",
    404: "No such object, or one you may not know of (both answer the same).",
    409: "The request clashes with the object's current state.",
    413: "The request body is over this endpoint's limit.",
    415: "A file is not of a kind trapline accepts.",
    503: "A backend (database, storage, queue) is unavailable, or the server is busy; retry "
    "after Retry-After seconds.",
}
_HEADERS = {
    401: {"WWW-Authenticate": 'how to authenticate: `Token realm="trapline"`'},
    503: {"Retry-After": "seconds to wait before retrying"},
}


def install_openapi(app: FastAPI) -> None:
    """Serve ``app``'s OpenAPI document with its answers documented as they are sent."""

    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = truthful(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def truthful(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with every operation's error answers, redirects and no 422."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas["ErrorOut"] = ErrorOut.model_json_schema()
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            if method in _WRITES | {"get", "head", "options"}:
                _document_answers(method, operation)
                rules = RULES.get(f"{method.upper()} {path}")
                if rules:
                    _document_rules(operation["responses"]["400"], rules)
    return document


def _document_rules(answer: dict[str, Any], rules: tuple[str, ...]) -> None:
    """List ``rules`` in the description of an operation's 400 ``answer``."""
    listed = "\n".join(f"- {rule}" for rule in rules)
    answer["description"] += (
        f"\n\nAlso answered to a request the schema allows, when it breaks a rule:\n\n{listed}"
    )


def _document_answers(method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    responses.pop("422", None)
    for status in list(responses):
        if status.startswith("3"):
            responses[status] = _redirect()
    body = operation.get("requestBody", {}).get("content", {})
    parameters = operation.get("parameters", [])
    takes_input = bool(parameters or body)
    authenticated = bool(operation.get("security"))
    signed = any(p["name"] == _SIGNATURE and p["in"] == "query" for p in parameters)
    names_an_object = any(p["in"] == "path" for p in parameters)
    statuses = [503]
    if takes_input:
        statuses.append(400)
    if authenticated:
        statuses += [401, 403]
        if method in _WRITES:
            statuses.append(409)
    if signed:
        statuses.append(403)
    if names_an_object or (authenticated and takes_input):
        statuses.append(404)
    if body:
        statuses.append(413)
    if "multipart/form-data" in body:
        statuses.append(415)
    for code in sorted(set(statuses)):
        # A route that documents an answer of its own (readiness) keeps it.
        responses.setdefault(str(code), _error(code))


def _error(status: int) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "description": _REASONS[status],
        "content": {"application/json": {"schema": _ERROR_REF}},
    }
    if status in _HEADERS:
        answer["headers"] = {
            name: {"description": text, "required": True, "schema": {"type": "string"}}
            for name, text in _HEADERS[status].items()
        }
    return answer


def _redirect() -> dict[str, Any]:
    """A redirect: no body, and where to go in ``Location``."""
    return {
        "description": "Redirect to the file: a signed, expiring URL in Location.",
        "headers": {
            "Location": {
                "description": "the URL to follow",
                "required": True,
                "schema": {"type": "string", "format": "uri"},
            }
        },
    }
