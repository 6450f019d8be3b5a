"""How large a request body may be, in bytes and in JSON containers, by kind of route."""

from __future__ import annotations

from trapline.protocol.base import (
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
#: Any JSON route that names no limit of its own (the API and the web app give it to every
#: JSON router).
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
