"""JSON bodies parsed and answered straight through pydantic-core (for the hot worker calls)."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel
from pydantic_core import from_json

from trapline.errors import InvalidInput


async def body_bytes(request: Request) -> bytearray:
    """The request body, read into one growing buffer: ``request.body()`` keeps the chunks and
    joins them, holding a large body twice for a moment."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
    return body


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
