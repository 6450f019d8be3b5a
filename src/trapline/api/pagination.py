"""List envelopes ``{count, next, previous, results}``: limit/offset, and cursors for images."""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import Path, Query, Request
from pydantic import AfterValidator, BeforeValidator
from starlette.datastructures import URL

from trapline.api.schemas import iso_text_only
from trapline.domain.paging import Cursor
from trapline.domain.records import Image
from trapline.errors import InvalidInput
from trapline.protocol import MAX_NAME, ONE_LINE

#: Default and largest page sizes.
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000

#: Largest id a database row can have (64-bit); larger numbers are refused before any query.
MAX_ID = 2**63 - 1

#: An object id in a path.
Id = Annotated[int, Path(ge=1, le=MAX_ID, description="object id")]
#: An optional object id in a query string.
QueryId = Annotated[int | None, Query(ge=1, le=MAX_ID, description="object id")]

Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="page size, 1 to 1000")]
Offset = Annotated[int, Query(ge=0, le=10**12, description="items to skip")]

#: Longest comma-separated list in a query string (statuses, pipeline slugs).
MAX_QUERY_LIST = 10_000

#: A pipeline slug in a path.
PathSlug = Annotated[
    str, Path(min_length=1, max_length=200, pattern=ONE_LINE, description="pipeline slug")
]
#: A key of a file in the blob store: path segments of letters, digits and ``._=-``, never
#: ``.`` or ``..``, starting with a letter or digit (``storage.base.check_key``).
BlobKey = Annotated[
    str,
    Path(
        max_length=1024,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._=-]*"
        r"(/([A-Za-z0-9_=-][A-Za-z0-9._=-]*|\.[A-Za-z0-9_=-][A-Za-z0-9._=-]*|\.\.[A-Za-z0-9._=-]+))*$",
        description="the file's key, as in the signed link",
    ),
]
#: A date-time in a query string: ISO 8601 (not a Unix time).
QueryTime = Annotated[datetime | None, Query(), BeforeValidator(iso_text_only)]
#: Sizes of thumbnails, long side in pixels.
THUMBNAIL_SIZES = (256, 1024)


def _thumbnail_size(size: int) -> int:
    if size not in THUMBNAIL_SIZES:
        raise ValueError(f"size must be 256 or 1024 (got {size})")
    return size


#: The size of a thumbnail.
ThumbnailSize = Annotated[
    int,
    Query(description="long side in pixels: 256 or 1024", json_schema_extra={"enum": [256, 1024]}),
    AfterValidator(_thumbnail_size),
]
#: A word or name to filter by in a query string (a label, part of a file name).
QueryText = Annotated[
    str | None, Query(max_length=MAX_NAME, pattern=ONE_LINE, description="text to match")
]
#: A comma-separated list in a query string.
QueryList = Annotated[
    str | None,
    Query(max_length=MAX_QUERY_LIST, pattern=ONE_LINE, description="comma-separated values"),
]
#: An opaque cursor from a listing's ``next``/``previous`` link.
QueryCursor = Annotated[
    str | None, Query(max_length=500, pattern=r"^[A-Za-z0-9_=-]*$", description="page cursor")
]


def offset_page(
    request: Request, count: int, results: list[Any], limit: int, offset: int
) -> dict[str, Any]:
    """An envelope whose links move by ``limit`` items."""
    url = own_url(request)
    following = None
    if offset + limit < count:
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
    count: int,
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
    url = own_url(request).remove_query_params(["cursor", "offset"])
    backwards = cursor is not None and cursor.backwards
    has_next = bool(images) and (more if not backwards else True)
    has_previous = bool(images) and (more if backwards else (cursor is not None or offset > 0))
    following = preceding = None
    if has_next:
        following = str(url.include_query_params(cursor=encode_cursor(images[-1], backwards=False)))
    if has_previous:
        preceding = str(url.include_query_params(cursor=encode_cursor(images[0], backwards=True)))
    return {"count": count, "next": following, "previous": preceding, "results": results}


def own_url(request: Request) -> URL:
    """The request's URL on the server's public base URL, never on the Host header it sent."""
    base: str = request.app.state.platform.settings.public_base_url
    query = request.url.query
    return URL(base + request.url.path + (f"?{query}" if query else ""))


def encode_cursor(image: Image, *, backwards: bool) -> str:
    """An opaque cursor next to ``image``."""
    sort = image.captured_at.isoformat() if image.captured_at else None
    raw = json.dumps([sort, image.id, 1 if backwards else 0], separators=(",", ":"))
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
