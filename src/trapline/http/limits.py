"""How large a request body may be, in bytes, JSON containers and JSON values, by kind of route."""

from __future__ import annotations

from typing import NamedTuple

from trapline.protocol.base import (
    MAX_REGISTRATION_BYTES,
    MAX_REGISTRATION_CONTAINERS,
    MAX_REGISTRATION_VALUES,
    MAX_RESULTS_BYTES,
    MAX_RESULTS_CONTAINERS,
    MAX_RESULTS_VALUES,
    json_containers,
    json_values,
)

KiB = 1024
MiB = 1024 * KiB

# Largest JSON body of each kind of route, in bytes (a route's ``max_body_size``): a body over
# its route's limit is refused with 413 before it is read into memory.
#: Any JSON route that names no limit of its own (the API and the web app give it to every
#: JSON router).
JSON_BODY_BYTES = 1 * MiB
#: A post of results (see ``protocol.MAX_RESULTS_BYTES``), read one part at a time.
RESULTS_BODY_BYTES = MAX_RESULTS_BYTES
#: A bulk post of callback annotations, which is parsed whole: ~15,000 annotations with data.
BULK_BODY_BYTES = 16 * MiB
#: A registration of pipelines (see ``protocol.MAX_REGISTRATION_BYTES``).
REGISTRATION_BODY_BYTES = MAX_REGISTRATION_BYTES
#: A collection of up to 100,000 image ids.
COLLECTION_BODY_BYTES = 4 * MiB

# Parsed, JSON costs far more memory than its bytes (an empty object ~70 bytes for its 3, a
# number ~80 for its 4), so bytes alone do not bound memory: these counts do, taken as the body
# arrives (brackets and commas; those inside strings count too, which only errs on the side of
# refusing) before any of it is parsed.


class Budget(NamedTuple):
    """Most JSON objects and arrays, and most JSON values, a body of one kind may hold."""

    containers: int
    values: int


#: Any JSON route that names no limit of its own: ~20 MB of memory at most once parsed. A job's
#: ``image_ids`` may repeat ids up to ten times its 10,000-image cap before merging (that
#: route's own check refuses more, naming the field), so 100,001 ids must reach it.
JSON_BUDGET = Budget(containers=20_000, values=200_000)
#: A collection: 100,000 image ids and a few fields.
COLLECTION_BUDGET = Budget(containers=20_000, values=110_000)
#: A post of results (see ``protocol.MAX_RESULTS_VALUES``): read one part at a time, so this
#: bounds the work of walking it; the parts have caps of their own (``protocol.MAX_PART_VALUES``).
RESULTS_BUDGET = Budget(MAX_RESULTS_CONTAINERS, MAX_RESULTS_VALUES)
#: A bulk post of callback annotations, parsed whole: ~50 MB of memory at most once parsed.
BULK_BUDGET = Budget(containers=250_000, values=400_000)
#: A registration (see ``protocol.MAX_REGISTRATION_VALUES``).
REGISTRATION_BUDGET = Budget(MAX_REGISTRATION_CONTAINERS, MAX_REGISTRATION_VALUES)
#: Each route byte limit's budget (the body limit middleware reads a route's byte limit from
#: the request, and its budget from here).
_BUDGET_BY_LIMIT = {
    JSON_BODY_BYTES: JSON_BUDGET,
    COLLECTION_BODY_BYTES: COLLECTION_BUDGET,
    RESULTS_BODY_BYTES: RESULTS_BUDGET,
    BULK_BODY_BYTES: BULK_BUDGET,
    REGISTRATION_BODY_BYTES: REGISTRATION_BUDGET,
}

#: Most JSON objects and arrays in a body of each kind (kept by name for callers and tests).
JSON_CONTAINERS = JSON_BUDGET.containers
RESULTS_CONTAINERS = RESULTS_BUDGET.containers
REGISTRATION_CONTAINERS = REGISTRATION_BUDGET.containers


def budget_for(byte_limit: int) -> Budget:
    """The budget of a route with this byte limit."""
    return _BUDGET_BY_LIMIT.get(byte_limit, JSON_BUDGET)


def container_budget(byte_limit: int) -> int:
    """Most JSON objects and arrays a body may hold on a route with this byte limit."""
    return budget_for(byte_limit).containers


class Count(NamedTuple):
    """What a body holds so far."""

    containers: int = 0
    values: int = 0

    def add(self, chunk: bytes) -> Count:
        """The count with ``chunk`` read too."""
        return Count(self.containers + json_containers(chunk), self.values + json_values(chunk))

    def over(self, budget: Budget) -> str | None:
        """What a 413 says when this count passes ``budget``; None within it."""
        if self.containers > budget.containers:
            return too_many_containers_detail(budget.containers)
        if self.values > budget.values:
            return (
                f"the request body holds more than {budget.values} JSON values (numbers, "
                "strings and the like), this endpoint's limit; send fewer items per request "
                "(a worker: fewer images per post)"
            )
        return None


def containers_in(chunk: bytes) -> int:
    """How many JSON objects and arrays ``chunk`` may open (``protocol.json_containers``)."""
    return json_containers(chunk)


def too_many_containers_detail(budget: int) -> str:
    """What a 413 for a body over its container budget says."""
    return (
        f"the request body holds more than {budget} JSON objects and arrays, this endpoint's"
        " limit; send fewer items per request"
    )
