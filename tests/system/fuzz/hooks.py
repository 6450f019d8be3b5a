"""Schemathesis hooks of the fuzz run: aim about half the requests at real objects.

Loaded by the schemathesis process through ``SCHEMATHESIS_HOOKS``; the ids of the objects the
test made are in ``FUZZ_REAL_OBJECTS`` (JSON, by parameter name).
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis

#: Largest id an object can have.
MAX_ID = 2**63 - 1
#: Ids of real objects by the name of the path or query parameter that takes them.
REAL: dict[str, Any] = json.loads(os.environ.get("FUZZ_REAL_OBJECTS", "{}"))


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Point a request at real objects where its generated id is valid and even.

    Deletions are aimed away from them instead, so a fuzzed DELETE never removes the objects
    (or revokes the token) the rest of the run relies on.
    """
    if case.method.upper() == "DELETE":
        # Path values may come as text ("1") as well as numbers.
        for name, value in list((case.path_parameters or {}).items()):
            if name in REAL and str(value) == str(REAL[name]):
                case.path_parameters[name] = REAL[name] + 1_000_000
        return case
    if case.query and "cursor" in case.query:
        # A cursor is opaque: only one a listing handed out is valid, and a made-up one is
        # refused (400), which no schema can say. Bad cursors are tested in test_bad_input.
        del case.query["cursor"]
    for parameters in (case.path_parameters, case.query):
        for name, value in list((parameters or {}).items()):
            real = REAL.get(name)
            # Only a valid value is swapped for the real one: an invalid one (of another type,
            # out of range) makes an invalid request on purpose, which must stay invalid.
            if real is None or type(value) is not type(real):
                continue
            if isinstance(real, int) and 1 <= value <= MAX_ID and value % 2 == 0:
                parameters[name] = real
    return case
