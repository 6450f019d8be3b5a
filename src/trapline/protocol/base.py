"""What every wire model is made of: bounded values, limits, the base model, problem sentences.

Every string, number and list a caller sends is bounded here, once. The database refuses what
these let through only at a cost (PostgreSQL cannot store NUL in text, a string longer than its
column or an integer past its type fails the statement, and its json type has no NaN), so they
are refused at the boundary, naming the field.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
)
from pydantic_core import ErrorDetails, PydanticCustomError

# A string field refuses lone surrogates (U+D800-U+DFFF, which no UTF-8 can carry) itself;
# free-form JSON checks its strings and keys in ``_plain_json``.
#: Text a column stores: anything but NUL, which PostgreSQL cannot store.
NO_NUL = r"^[^\x00]*$"


#: One-line text (names, labels, identities): no control characters at all, C1 ones included,
#: nor the line and paragraph separators (U+2028, U+2029), the bidirectional controls (U+061C,
#: U+200E, U+200F, U+202A-U+202E, U+2066-U+2069) or the invisible characters (U+200B, U+2060-
#: U+2064, U+FEFF) that would make a name read otherwise than it is. The zero-width joiners
#: (U+200C, U+200D) stay: scripts and emoji need them.
ONE_LINE = (
    r"^[^\x00-\x1f\x7f-\x9f\u061c\u200b\u200e\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]*$"
)


#: Free text (descriptions, errors): no control characters but tab and line breaks.
FREE_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"


#: What each pattern above is called in an error message.
PATTERN_MEANINGS = {
    NO_NUL: "must not contain NUL characters",
    ONE_LINE: (
        "must not contain NUL, line breaks, other control characters, bidirectional text "
        "controls or invisible characters"
    ),
    FREE_TEXT: "must not contain NUL or control characters (tab and line breaks are fine)",
}


#: A lone surrogate: what JSON's ``\ud800`` escapes decode to, which no UTF-8 text can carry
#: (storing it fails, or answering with it does).
_SURROGATE = re.compile("[\ud800-\udfff]")


#: Longest name, key or label (the columns hold 255 characters).
MAX_NAME = 255


#: Longest URI of weights or a category map (the columns hold 1024 characters).
MAX_URI = 1024


#: Longest free text (descriptions, error messages a worker reports).
MAX_TEXT = 100_000


#: Deepest nesting of free-form JSON values (category map data, configs, extras).
MAX_JSON_DEPTH = 32


#: Most labels in a category map or a classification (and scores, logits).
MAX_LABELS = 100_000
#: Values in a classification's feature vector.
MAX_FEATURES = 8192


#: Most result items in one post of results (a whole-request limit: over it answers 400).
MAX_RESULT_ITEMS = 1000


# A byte limit alone does not bound what parsing costs: a parsed ``0.1`` takes ~80 bytes of
# memory for its 4 bytes of JSON, a short string ~110 for its 10, an empty object ~70 for its 3.
# So each kind of body also has a budget of values (``json_values``), checked before parsing;
# memory then stays within ~1.5 x the bytes plus ~120 bytes per value (docs/security.md, Input;
# figures in docs/benchmarks.md).

#: Most JSON objects and arrays in a post of results (or a push service's answer to /process).
#: A post is read one part at a time (``MAX_PART_VALUES``), so this bounds the work of walking
#: it, not its memory: 1,000 images with 100 detections of ~10 objects each.
MAX_RESULTS_CONTAINERS = 1_000_000


#: Most JSON values in a post of results (or a /process answer), which is read one part at a
#: time: a bound on the work of reading it. A post of ``MAX_RESULTS_BYTES`` of score vectors
#: as the AMI Data Companion writes them (``0.0123, ``) holds ~2,000,000.
MAX_RESULTS_VALUES = 4_000_000


#: Most JSON values in one part of a post of results or a /process answer: one detection, or
#: an item (an answer) besides its detections. Parts are typed one at a time, each costing up
#: to ~300 bytes of memory per value meanwhile (small objects in free-form ``errors``), so one
#: part stays under ~45 MB beside the body. A detection may carry a classification over
#: ~45,000 classes with labels, scores and logits.
MAX_PART_VALUES = 150_000


#: Largest part of a post of results or a /process answer, in bytes (see ``MAX_PART_VALUES``):
#: long strings cost ~4 bytes of memory per byte while a part is copied, parsed and typed.
MAX_PART_BYTES = 4 * 1024 * 1024


#: Most JSON objects and arrays in a pipeline registration (or a push service's /info):
#: category maps whose labels each carry an object of data, ~10 pipelines with up to 30,000
#: labels each (~300,000), with room.
MAX_REGISTRATION_CONTAINERS = 500_000


#: Most JSON values in a registration (or an /info answer): category maps of ~100,000 labels
#: in all, each with an object of a few fields of data.
MAX_REGISTRATION_VALUES = 600_000


def json_containers(data: bytes | bytearray) -> int:
    """How many JSON objects and arrays ``data`` may open (at most: brackets in strings count).

    A parsed empty object takes ~70 bytes of memory for its 3 bytes of JSON, so a byte limit
    alone does not bound what parsing costs; a limit on this count does, checked before parsing.
    """
    return data.count(b"{") + data.count(b"[")


def json_values(data: bytes | bytearray, start: int = 0, end: int | None = None) -> int:
    """How many JSON values ``data`` (or ``data[start:end]``) may hold, less one (at most:
    commas in strings count).

    Every value after the first in an array or object follows a comma, and every container is
    a value, so this bounds what parsing ``data`` creates; counted in C, chunk by chunk.
    """
    stop = len(data) if end is None else end
    return (
        data.count(b",", start, stop)
        + data.count(b"{", start, stop)
        + data.count(b"[", start, stop)
    )


#: Most detections in one image's result.
MAX_DETECTIONS = 10_000


#: Most classifications of one detection.
MAX_CLASSIFICATIONS = 100


# A registration's cost grows with its algorithms (rows and links written in one transaction,
# which on SQLite holds every other writer): real services register ~10 pipelines of 2-4
# algorithms each (the AMI Data Companion), so these leave ten times the room.
#: Most pipelines in one registration (or a push service's ``/info``).
MAX_PIPELINES = 100


#: Most algorithms in one pipeline.
MAX_ALGORITHMS = 20


#: Most algorithms across one registration, its pipelines' together (or an ``/info``'s list).
MAX_REGISTERED_ALGORITHMS = 500


#: Most stages of a pipeline, and parameters of a stage.
MAX_STAGES = 100


#: Largest registration of pipelines, in bytes (a pull-mode post, or a push service's
#: ``/info``): category maps of ~100,000 labels with ~100 bytes of data each are ~10 MB.
MAX_REGISTRATION_BYTES = 24 * 1024 * 1024


#: Largest post of results, in bytes (a worker's, or a push service's ``/process`` answer).
#: Posts are read one part at a time (``MAX_PART_VALUES``), so memory follows the largest part,
#: not the post: the body is held once beside it. The AMI Data Companion splits its posts at
#: 25 MiB by default (``AMI_ANTENNA_RESULT_POST_MAX_BYTES``), which this leaves room above.
MAX_RESULTS_BYTES = 32 * 1024 * 1024


#: Most pipeline slugs or reply subjects in one claim or lease extension.
MAX_LIST = 1000


#: Range of a 32-bit integer column (versions, process ids).
INT32_MAX = 2**31 - 1


def _plain_json(value: Any) -> Any:
    """``value`` if it is JSON a database stores: finite numbers, nested at most so deep."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, float) and not math.isfinite(node):
            raise PydanticCustomError("json_finite", "numbers must be finite (not NaN or Infinity)")
        if isinstance(node, str):
            _check_json_text(node, "strings")
        if isinstance(node, dict | list):
            if depth > MAX_JSON_DEPTH:
                raise PydanticCustomError(
                    "json_depth", "nested deeper than {limit} levels", {"limit": MAX_JSON_DEPTH}
                )
            children = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in children:
                if isinstance(key, str):
                    _check_json_text(key, "keys")
                stack.append((child, depth + 1))
    return value


def _check_json_text(text: str, what: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError("json_nul", f"{what} must not contain NUL characters")
    if _SURROGATE.search(text):
        raise PydanticCustomError(
            "json_surrogate", f"{what} must not contain lone surrogates (U+D800 to U+DFFF)"
        )
    return text


def _json_key(key: str) -> str:
    """``key`` if a database can store it (keys of free-form objects)."""
    return _check_json_text(key, "keys")


#: Free-form JSON kept as it is: no NaN or Infinity, no NUL or lone surrogates, at most
#: MAX_JSON_DEPTH deep.
JsonValue = Annotated[Any, AfterValidator(_plain_json)]


#: A key of a free-form object: no NUL or lone surrogates (the values are JsonValue).
JsonKey = Annotated[str, AfterValidator(_json_key)]


#: A name, key or label of at most MAX_NAME characters on one line.
WireName = Annotated[str, StringConstraints(max_length=MAX_NAME, pattern=ONE_LINE)]


#: A short name: a task type, a version name.
ShortName = Annotated[str, StringConstraints(max_length=64, pattern=ONE_LINE)]


#: A pipeline slug.
#: Longest pipeline slug.
MAX_SLUG = 200
Slug = Annotated[str, StringConstraints(min_length=1, max_length=MAX_SLUG, pattern=ONE_LINE)]


#: A URI of weights or a category map.
WireUri = Annotated[str, StringConstraints(max_length=MAX_URI, pattern=ONE_LINE)]


#: A URL that is passed along but not stored (an image's, a crop's).
WireUrl = Annotated[str, StringConstraints(max_length=8192, pattern=ONE_LINE)]


#: A lease token as handed out (``reply_subject``).
ReplySubject = Annotated[str, StringConstraints(max_length=MAX_URI, pattern=ONE_LINE)]


#: Free text: a description.
WireText = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=FREE_TEXT)]


#: A message from a program (an error, maybe with a coloured traceback): anything but NUL.
WireMessage = Annotated[str, StringConstraints(max_length=MAX_TEXT, pattern=NO_NUL)]


def _number_not_text(value: Any) -> Any:
    """``value`` unless it is text or a boolean, which JSON does not take for a number."""
    if isinstance(value, str | bytes | bool):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    return value


# Numbers and booleans are strict: "3" or true is not taken for 3, nor 1 for true (but 3.0 is
# 3, as in JSON Schema).
#: Refuses text and booleans for an integer; put it after the integer's Field (its bounds are
#: then documented as minimum and maximum).
NOT_TEXT = BeforeValidator(_number_not_text)


#: A number a database stores: not NaN, not Infinity.
Finite = Annotated[StrictFloat, Field(allow_inf_nan=False)]


#: A version number (a 32-bit column).
Version = Annotated[int, Field(ge=0, le=INT32_MAX), NOT_TEXT]


#: Most tasks one claim may ask for.
MAX_BATCH_SIZE = 1000


#: Size of a claim's batch.
BatchSize = Annotated[int, Field(ge=1, le=MAX_BATCH_SIZE), NOT_TEXT]


def describe_problem(error: ErrorDetails | dict[str, Any]) -> str:
    """One validation problem in words, naming where it is: ``labels.3: must not contain NUL``.

    The one formatter of validation problems (the API's error answers and the per-item
    answers to posted results both use it).
    """
    location = [str(p) for p in error.get("loc", ()) if p not in ("body", "query", "path")]
    # A key in the location may be a lone surrogate, which no answer can carry.
    where = _SURROGATE.sub("\ufffd", ".".join(location)) or "body"
    kind = error.get("type", "")
    context = error.get("ctx") or {}
    if kind == "json_invalid":
        return "the request body is not valid JSON: " + str(context.get("error", ""))
    if kind == "missing":
        return f"{where} is required"
    if kind == "string_pattern_mismatch" and context.get("pattern") in PATTERN_MEANINGS:
        return f"{where}: {PATTERN_MEANINGS[context['pattern']]}"
    message = str(error.get("msg", "invalid value"))
    given = error.get("input")
    if given is not None and not isinstance(given, dict | list) and len(str(given)) < 80:
        message += f" (got {given!r})"
    return _SURROGATE.sub("\ufffd", f"{where}: {message}")


class WireModel(BaseModel):
    """Base of protocol models: unknown keys are ignored, not refused."""

    model_config = ConfigDict(extra="ignore")
