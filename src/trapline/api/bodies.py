"""JSON bodies parsed and answered straight through pydantic-core (for the hot worker calls)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from pydantic_core import from_json

from trapline.errors import InvalidInput
from trapline.protocol import (
    MAX_REGISTRATION_BYTES,
    MAX_REGISTRATION_CONTAINERS,
    MAX_RESULTS_BYTES,
    MAX_RESULTS_CONTAINERS,
    json_containers,
)

KiB = 1024
MiB = 1024 * KiB

# Largest JSON body of each kind of route, in bytes (a route's ``max_body_size``): a body over
# its route's limit is refused with 413 before it is read into memory.
#: Any JSON route that names no limit of its own (app.py gives it to every JSON router).
JSON_BODY_BYTES = 1 * MiB
#: A post of results (see ``protocol.MAX_RESULTS_BYTES``).
RESULTS_BODY_BYTES = MAX_RESULTS_BYTES
#: A registration of pipelines (see ``protocol.MAX_REGISTRATION_BYTES``).
REGISTRATION_BODY_BYTES = MAX_REGISTRATION_BYTES
#: A collection of up to 100,000 image ids.
COLLECTION_BODY_BYTES = 4 * MiB

# Most JSON objects and arrays in a body of each size of route. Parsed, an empty object takes
# ~70 bytes of memory for its 3 bytes of JSON (``{},``), so bytes alone do not bound memory:
# these do, counted as the body arrives (``{`` and ``[`` bytes; those inside strings count too,
# which only errs on the side of refusing) before any of it is parsed.
#: Any JSON route that names no limit of its own: ~1 MB of memory as empty objects.
JSON_CONTAINERS = 20_000
#: A post of results (see ``protocol.MAX_RESULTS_CONTAINERS``).
RESULTS_CONTAINERS = MAX_RESULTS_CONTAINERS
#: A registration (see ``protocol.MAX_REGISTRATION_CONTAINERS``).
REGISTRATION_CONTAINERS = MAX_REGISTRATION_CONTAINERS
#: Each route byte limit's container budget (the body limit middleware reads a route's byte
#: limit from the request, and its budget from here).
_CONTAINERS_BY_LIMIT = {
    JSON_BODY_BYTES: JSON_CONTAINERS,
    COLLECTION_BODY_BYTES: JSON_CONTAINERS,
    RESULTS_BODY_BYTES: RESULTS_CONTAINERS,
    REGISTRATION_BODY_BYTES: REGISTRATION_CONTAINERS,
}


def container_budget(byte_limit: int) -> int:
    """Most JSON objects and arrays a body may hold on a route with this byte limit."""
    return _CONTAINERS_BY_LIMIT.get(byte_limit, JSON_CONTAINERS)


def containers_in(chunk: bytes) -> int:
    """How many JSON objects and arrays ``chunk`` may open (``protocol.json_containers``)."""
    return json_containers(chunk)


def too_many_containers_detail(budget: int) -> str:
    """What a 413 for a body over its container budget says."""
    return (
        f"the request body holds more than {budget} JSON objects and arrays, this endpoint's"
        " limit; send fewer items per request"
    )


async def json_object(request: Request) -> dict[str, Any]:
    """The request body as a JSON object; InvalidInput for anything else.

    Parsed by pydantic-core, which refuses nesting past its recursion limit with an error
    (the json module raises RecursionError) and is several times faster.
    """
    raw = await request.body()
    try:
        body = from_json(raw) if raw else None
    except ValueError as exc:
        raise InvalidInput(f"the request body is not valid JSON: {exc}") from exc
    if not isinstance(body, dict):
        raise InvalidInput("the request body must be a JSON object")
    return body


def whole_number(value: object) -> object:
    """``value`` as an int if it is a float with no fraction (JSON Schema's integers include
    3.0); anything else as it is."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def json_response(model: BaseModel, *, exclude_none: bool = False) -> Response:
    """A 200 answer with the model's JSON."""
    return Response(
        content=model.model_dump_json(exclude_none=exclude_none), media_type="application/json"
    )


def json_body(model: type[BaseModel]) -> dict[str, Any]:
    """OpenAPI ``requestBody`` for a route that reads its body itself."""
    schema = model.model_json_schema()
    definitions = schema.pop("$defs", {})
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": _inline(schema, definitions)}},
        }
    }


def _inline(node: Any, definitions: dict[str, Any]) -> Any:
    # The wire models are not recursive, so every local $ref can be replaced by its target.
    if isinstance(node, dict):
        ref = node.get("$ref", "")
        if ref.startswith("#/$defs/"):
            return _inline(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {k: _inline(v, definitions) for k, v in node.items()}
    if isinstance(node, list):
        return [_inline(v, definitions) for v in node]
    return node
