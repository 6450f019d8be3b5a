"""List envelopes ``{count, next, previous, results}``: limit/offset, and cursors (images,
occurrences, events)."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fastapi import Request
from starlette.datastructures import URL

from trapline.domain.core.paging import Cursor
from trapline.domain.core.records import Image
from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID


def offset_page(
    request: Request,
    count: int | None,
    results: list[Any],
    limit: int,
    offset: int,
    *,
    more: bool | None = None,
) -> dict[str, Any]:
    """An envelope whose links move by ``limit`` items (``count`` None: not counted, and
    ``more`` says whether items follow the page)."""
    url = own_url(request)
    following = None
    if more if count is None else offset + limit < count:
        following = str(url.include_query_params(limit=limit, offset=offset + limit))
    preceding = None
    if offset > 0:
        back = max(offset - limit, 0)
        preceding = str(
            url.include_query_params(limit=limit, offset=back)
            if back
            else url.include_query_params(limit=limit).remove_query_params("offset")
        )
    return {"count": count, "next": following, "previous": preceding, "results": results}


def cursor_page(
    request: Request,
    count: int | None,
    images: list[Image],
    results: list[Any],
    *,
    more: bool,
    cursor: Cursor | None,
    offset: int,
) -> dict[str, Any]:
    """An envelope whose links are cursors next to the first and last image of the page.

    Any page then costs one index seek, however deep in the list it is.
    """
    keys = [(i.captured_at, i.id) for i in images]
    return keyed_page(request, count, keys, results, more=more, cursor=cursor, offset=offset)


def keyed_page(
    request: Request,
    count: int | None,
    keys: Sequence[tuple[datetime | None, int]],
    results: list[Any],
    *,
    more: bool,
    cursor: Cursor | None,
    offset: int = 0,
) -> dict[str, Any]:
    """An envelope whose links are cursors next to the first and last item of the page, each
    item's position given as its (sort time, id) in ``keys``."""
    url = own_url(request).remove_query_params(["cursor", "offset"])
    backwards = cursor is not None and cursor.backwards
    has_next = bool(keys) and (more if not backwards else True)
    has_previous = bool(keys) and (more if backwards else (cursor is not None or offset > 0))
    following = preceding = None
    if has_next:
        following = str(url.include_query_params(cursor=encode_position(*keys[-1])))
    if has_previous:
        preceding = str(url.include_query_params(cursor=encode_position(*keys[0], backwards=True)))
    return {"count": count, "next": following, "previous": preceding, "results": results}


def own_url(request: Request) -> URL:
    """The request's URL on the server's public base URL, never on the Host header it sent."""
    base: str = request.app.state.platform.settings.http.public_base_url
    query = request.url.query
    return URL(base + request.url.path + (f"?{query}" if query else ""))


def encode_cursor(image: Image, *, backwards: bool) -> str:
    """An opaque cursor next to ``image``."""
    return encode_position(image.captured_at, image.id, backwards=backwards)


def encode_position(sort: datetime | None, item_id: int, *, backwards: bool = False) -> str:
    """An opaque cursor next to the item of this sort time and id."""
    raw = json.dumps(
        [sort.isoformat() if sort else None, item_id, 1 if backwards else 0], separators=(",", ":")
    )
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(text: str | None) -> Cursor | None:
    """Read a cursor made by ``encode_cursor``; InvalidInput for anything else."""
    if not text:
        return None
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        sort, image_id, backwards = json.loads(raw)
        # bool is an int to Python: a made-up [..., true, 0] must not pass for an id.
        if type(image_id) is not int or not 0 <= image_id <= MAX_ID:
            raise ValueError("cursor id out of range")
        if sort is not None and not isinstance(sort, str):
            raise ValueError("cursor sort key is not a date-time")
        return Cursor(
            captured_sort=datetime.fromisoformat(sort) if sort else None,
            id=image_id,
            backwards=bool(backwards),
        )
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError, OverflowError) as exc:
        raise InvalidInput(
            "cursor is not valid; use the next/previous links of a listing as they are"
        ) from exc
