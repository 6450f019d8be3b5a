"""Schemathesis hooks of the fuzz run: aim about half the requests at real objects, keep the
run's own token, and note every answer to it.

Loaded by the schemathesis process through ``SCHEMATHESIS_HOOKS``; the ids of the objects the
test made are in ``FUZZ_REAL_OBJECTS`` (JSON, by parameter name), the token the run sends in
``FUZZ_TOKEN``, and the file that gets one line (``METHOD path status``) per answer to a
request carrying that token in ``FUZZ_ANSWERS``.
"""

from __future__ import annotations

import json
import os
from typing import Any

import schemathesis
from pydantic import TypeAdapter, ValidationError

#: Largest id an object can have.
MAX_ID = 2**63 - 1
#: Ids of real objects by the name of the path or query parameter that takes them.
REAL: dict[str, Any] = json.loads(os.environ.get("FUZZ_REAL_OBJECTS", "{}"))
#: The header the run authenticates with.
AUTHORIZATION = f"Token {os.environ.get('FUZZ_TOKEN', '')}"
#: Where the answers to the run's token are noted.
ANSWERS = os.environ.get("FUZZ_ANSWERS", "")
#: How the server reads an id in a path (leniently, from text: " 01", "+1" and "1.0" are 1).
_PATH_ID = TypeAdapter(int)


def _names(value: Any, wanted: Any) -> bool:
    """Whether the server reads path value ``value`` as the id ``wanted``."""
    try:
        # As text, as it is sent: a generated True is "true" to the server, not 1.
        return _PATH_ID.validate_python(str(value)) == wanted
    except ValidationError:
        return False


@schemathesis.hook
def map_case(context: Any, case: Any) -> Any:
    """Point a request at real objects where its generated id is valid and even.

    Deletions are aimed away from them instead, so a fuzzed DELETE never removes the objects
    the rest of the run relies on, nor revokes its token (``token_id``: a DELETE of
    /tokens/{id} naming it in any spelling the server reads as that id).
    """
    if case.method.upper() == "DELETE":
        for name, value in list((case.path_parameters or {}).items()):
            if name in REAL and _names(value, REAL[name]):
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


@schemathesis.hook
def after_call(context: Any, case: Any, response: Any) -> None:
    """Note the answer to a request that carried the run's token (not the checks' requests
    without it, or with another)."""
    if ANSWERS and response.request.headers.get("Authorization") == AUTHORIZATION:
        with open(ANSWERS, "a", encoding="utf-8") as answers:
            answers.write(f"{case.method.upper()} {case.path} {response.status_code}\n")
