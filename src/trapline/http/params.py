"""Path and query parameters the API and the web pages both declare: ids, pages, filters."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from trapline.protocol.base import MAX_NAME, ONE_LINE
from trapline.schemas.common import iso_date_only, iso_text_only

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
#: The deepest offset of a listing that pages by cursor (a database walks past every item it
#: skips): deeper pages follow the ``next`` link.
MAX_OFFSET = 10_000
#: ``offset`` of a listing that pages by cursor.
ListingOffset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description="items to skip, at most 10,000; follow the next link's cursor to go deeper",
    ),
]

#: ``offset`` of an event's occurrences or a deployment's events: the project's listings page
#: them at any depth by cursor.
NestedOffset = Annotated[
    int,
    Query(
        ge=0,
        le=MAX_OFFSET,
        description="items to skip, at most 10,000; deeper, page the project's listing "
        "(/projects/{id}/events?deployment=…, /projects/{id}/occurrences?event=…) by cursor",
    ),
]

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


#: A date in a query string: ISO 8601 (not a Unix time).
QueryDate = Annotated[
    date | None,
    Query(description="an ISO 8601 date, such as 2024-06-21"),
    BeforeValidator(iso_date_only),
]
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
#: A pipeline named in a query (its slug, or the name an import gave it); none: the one the
#: project counts by.
QueryPipeline = Annotated[
    str | None,
    Query(
        min_length=1,
        max_length=255,
        pattern=ONE_LINE,
        description="the pipeline whose occurrences are counted; none: the project's counting "
        "pipeline",
    ),
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
