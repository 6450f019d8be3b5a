"""Where the values of a JSON document lie, found without parsing it.

A large body (a post of results, a ``/process`` answer) is read one part at a time: these find
the byte span of each member of an object and each element of an array, so each part can be
validated from its own slice and dropped before the next. Only the structure between the parts
is looked at here (brackets, strings, separators); each part's own syntax is checked when it is
parsed, so every byte of a body is checked once its parts are.

The scans run in C (regular expressions with possessive quantifiers, which never backtrack):
a value up to ``_MATCHED_DEPTH`` deep is matched whole in one step; a deeper one is walked by
a Python loop that turns once per bracket, not per byte or per string.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import NamedTuple

#: A run of anything but brackets, whole strings included (their brackets are not structure).
_SKIP = re.compile(rb'(?:[^"\[\]{}]++|"[^"\\]*+(?:\\.[^"\\]*+)*+")*+', re.DOTALL)
_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"', re.DOTALL)
_SPACE = re.compile(rb"[ \t\n\r]*+")
#: An object key, its colon and the space around it: the value starts at the match's end.
_KEY = re.compile(rb'("[^"\\]*+(?:\\.[^"\\]*+)*+")[ \t\n\r]*+:[ \t\n\r]*+', re.DOTALL)
#: What follows a value in an object or array: space, a separator, space.
_AFTER = re.compile(rb"[ \t\n\r]*+([,\]}])[ \t\n\r]*+")
#: A number or a literal (true, false, null; NaN and Infinity, which the parser takes too).
_SCALAR = re.compile(rb"[^\s,\]}\[{\"]++")
#: Longest object key read as a name; longer ones are never a key the readers look for.
_LONGEST_KEY = 256
#: Nesting a whole value is matched to in one step (deeper values are walked bracket by
#: bracket): a result item is ~8 deep, its free-form ``errors`` may go deeper.
_MATCHED_DEPTH = 12


def _nested(depth: int) -> re.Pattern[bytes]:
    """An object or array nested at most ``depth`` deep, whole, in one match. Its brackets
    are only counted, not paired by kind: a ``{`` closed by ``]`` is not JSON, and the part
    holding it is refused when it is parsed."""
    flat, string = rb'[^"\[\]{}]++', rb'"[^"\\]*+(?:\\.[^"\\]*+)*+"'
    inner = rb"(?!)"  # nothing: no container below the deepest level
    for _ in range(depth):
        inner = rb"[\[{](?:" + flat + rb"|" + string + rb"|" + inner + rb")*+[\]}]"
    return re.compile(inner, re.DOTALL)


_CONTAINER = _nested(_MATCHED_DEPTH)


class Span(NamedTuple):
    """Where one JSON value lies: ``data[start:end]``."""

    start: int
    end: int


class Malformed(ValueError):
    """The structure around the parts is not JSON; ``position`` is where it broke."""

    def __init__(self, what: str, position: int) -> None:
        super().__init__(what)
        self.what, self.position = what, position


def where(data: bytes | bytearray, position: int) -> str:
    """``line L column C`` of a byte position, as JSON parsers name places."""
    line = data.count(b"\n", 0, position) + 1
    column = position - (data.rfind(b"\n", 0, position) + 1) + 1
    return f"line {line} column {column}"


def skip_space(data: bytes | bytearray, position: int) -> int:
    """The first position from ``position`` that is not JSON whitespace."""
    if position < len(data) and data[position] > 32:  # no space: the common case, no match
        return position
    match = _SPACE.match(data, position)
    return match.end() if match else position


def value_end(data: bytes | bytearray, start: int) -> int:
    """Where the JSON value that begins at ``start`` ends (exclusive)."""
    first = data[start : start + 1]
    if first == b'"':
        string = _STRING.match(data, start)
        if string is None:
            raise Malformed("EOF while parsing a string", len(data))
        return string.end()
    if first not in (b"{", b"["):
        scalar = _SCALAR.match(data, start)
        if scalar is None:
            raise Malformed("expected value", start)
        return scalar.end()
    whole = _CONTAINER.match(data, start)
    if whole is not None:
        return whole.end()
    # Deeper than one match goes, or not well formed (the walk says where it broke).
    depth, position = 0, start
    while True:
        skipped = _SKIP.match(data, position)
        position = skipped.end() if skipped else position
        if position >= len(data):
            raise Malformed("EOF while parsing a value", len(data))
        bracket = data[position]
        if bracket == ord('"'):
            raise Malformed("EOF while parsing a string", len(data))
        depth += 1 if bracket in b"[{" else -1
        position += 1
        if depth == 0:
            return position


def elements(data: bytes | bytearray, array: Span, limit: int | None = None) -> list[Span]:
    """The spans of the elements of the array at ``array``; with a ``limit``, at most one
    more than it (enough to tell that there are too many)."""
    return list(iter_elements(data, array, limit))


def iter_elements(data: bytes | bytearray, array: Span, limit: int | None = None) -> Iterator[Span]:
    """The spans of the elements of the array at ``array``, one at a time (with a ``limit``,
    at most one more than it)."""
    position = skip_space(data, array.start + 1)
    if data[position : position + 1] == b"]":
        return
    count = 0
    while True:
        end = value_end(data, position)
        yield Span(position, end)
        count += 1
        if limit is not None and count > limit:
            return
        after = _AFTER.match(data, end)
        if after is not None and after.group(1) == b"]":
            return
        if after is None or after.group(1) != b",":
            raise Malformed("expected `,` or `]` after an array element", skip_space(data, end))
        position = after.end()


def members(data: bytes | bytearray, obj: Span, wanted: frozenset[str]) -> dict[str, Span]:
    """The spans of the values of the ``wanted`` keys of the object at ``obj`` (the last of a
    key given twice, as parsers take it); other members are only stepped over."""
    found: dict[str, Span] = {}
    position = skip_space(data, obj.start + 1)
    if data[position : position + 1] == b"}":
        return found
    while True:
        key = _KEY.match(data, position)
        if key is None:
            string = _STRING.match(data, position)
            if string is None:
                raise Malformed("key must be a string", position)
            raise Malformed("expected `:` after an object key", skip_space(data, string.end()))
        name = _key(data, key.start(1), key.end(1))
        start = key.end()
        end = value_end(data, start)
        if name in wanted:
            found[name] = Span(start, end)
        after = _AFTER.match(data, end)
        if after is not None and after.group(1) == b"}":
            return found
        if after is None or after.group(1) != b",":
            raise Malformed("expected `,` or `}` after an object value", skip_space(data, end))
        position = after.end()


def _key(data: bytes | bytearray, start: int, end: int) -> str | None:
    if end - start > _LONGEST_KEY:
        return None
    raw = bytes(data[start + 1 : end - 1])
    if b"\\" not in raw:
        return raw.decode("utf-8", "replace")
    import json  # only for keys written with escapes, which real clients never send

    try:
        decoded: str = json.loads(b'"' + raw + b'"')
    except ValueError:
        return None
    return decoded


def replaced(data: bytes | bytearray, outer: Span, inner: Span, stand_in: bytes) -> bytes:
    """``data[outer]`` with the value at ``inner`` (within it) replaced by ``stand_in``,
    copied once."""
    view = memoryview(data)
    return b"".join((view[outer.start : inner.start], stand_in, view[inner.end : outer.end]))
