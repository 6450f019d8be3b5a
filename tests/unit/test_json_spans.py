"""Finding the parts of a JSON body without parsing it: strings and escapes are not structure."""

from __future__ import annotations

import json

import pytest

from trapline.protocol.json_spans import Malformed, Span, elements, members, replaced

TRICKY = [
    "plain",
    'a "quoted" ] word',
    "brackets ] } [ { inside",
    "a backslash \\ then ]",
    'escaped quote at the end \\"',
    "unicode \u00e9 and \\u escapes",
    "",
]


def test_elements_are_found_whatever_their_strings_hold() -> None:
    values = [{"text": t, "list": [t, {"n": [1, 2.5e-3, None, True]}]} for t in TRICKY]
    values += [3, -1.5e10, "x", [], {}, None, False]
    data = json.dumps(values, indent=1).encode()

    spans = elements(data, Span(0, len(data)))

    assert [json.loads(data[s.start : s.end]) for s in spans] == values


def test_members_find_the_wanted_keys_and_take_the_last_of_a_repeated_one() -> None:
    data = b'{"a": "}{", "results" : [1, "]"], "b\\u0022": {"results": 0}, "results": [2]}'

    found = members(data, Span(0, len(data)), frozenset({"results", 'b"'}))

    assert data[found["results"].start : found["results"].end] == b"[2]"
    assert json.loads(data[found['b"'].start : found['b"'].end]) == {"results": 0}


def test_a_part_can_be_replaced_by_a_stand_in() -> None:
    data = bytearray(b'{"x": 1, "detections": [{"a": "]"}, {}], "y": 2}')
    inner = members(data, Span(0, len(data)), frozenset({"detections"}))["detections"]

    assert replaced(data, Span(0, len(data)), inner, b"[]") == b'{"x": 1, "detections": [], "y": 2}'


@pytest.mark.parametrize(
    "data",
    [b"[1, 2", b'["open]', b"[1 2]", b'{"a" 1}', b'{"a": 1 "b": 2}', b"[{]"],
)
def test_broken_structure_is_refused_not_misread(data: bytes) -> None:
    with pytest.raises(Malformed):
        elements(data, Span(0, len(data))) if data[:1] == b"[" else members(
            data, Span(0, len(data)), frozenset({"a"})
        )


@pytest.mark.parametrize("depth", [1, 11, 12, 13, 40])
def test_values_nested_past_one_match_are_walked_to_their_end(depth: int) -> None:
    # Values up to _MATCHED_DEPTH deep are matched whole; deeper ones bracket by bracket.
    value: object = ["] {", {"k": TRICKY}]
    for n in range(depth):
        value = {"n": n, "inner": [value, "}"]} if n % 2 else [value, {"s": '"['}]
    values = [value, 1, value]
    data = json.dumps(values).encode()

    spans = elements(data, Span(0, len(data)))

    assert [json.loads(data[s.start : s.end]) for s in spans] == values
