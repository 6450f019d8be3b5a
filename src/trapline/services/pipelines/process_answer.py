"""A push service's ``/process`` answer read one part at a time, as a post of results is.

The answer is kept as the bytes it arrived in. Its fields besides the detections are typed
at once; each detection is checked (within the part caps, and typed) and then dropped, only
its place and image kept, so reading never holds the answer parsed whole. Each image's
detections are typed again one at a time when they are stored (``result_body.StreamedResult``).
An answer with any part out of contract is refused whole, as when it was validated whole.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from pydantic import ValidationError
from pydantic_core import ErrorDetails

from trapline.protocol.base import (
    MAX_DETECTIONS,
    MAX_PART_BYTES,
    MAX_PART_VALUES,
    json_values,
)
from trapline.protocol.json_spans import (
    Malformed,
    Span,
    iter_elements,
    members,
    replaced,
    skip_space,
    value_end,
)
from trapline.protocol.results import DetectionResponse
from trapline.protocol.service import ProcessResponse

Data = bytes | bytearray

#: Fields of an answer validated before its detections (a problem there is the one named).
_HEAD_LOCS = frozenset({("pipeline",), ("total_time",), ("source_images",)})


class AnswerInvalid(ValueError):
    """The answer breaks the contract; ``error`` is the first problem, located in the answer
    (``None``: it is not JSON), and ``limit`` a sentence when it is a part over its caps."""

    def __init__(self, error: ErrorDetails | dict[str, Any] | None, limit: str | None = None):
        super().__init__(limit or "invalid answer")
        self.error, self.limit = error, limit


class ProcessAnswer(NamedTuple):
    """An answer whose every part was checked: its fields, and its detections' places."""

    head: ProcessResponse  #: every field but ``detections`` (left empty)
    data: Data
    #: Where each image's detections lie in ``data``, by the id the service gave them.
    by_image: dict[str, list[Span]]


def read_answer(data: Data) -> ProcessAnswer:
    """Check an answer part by part.

    Raises:
        AnswerInvalid: not JSON, a part over the part caps, or a field out of contract.
    """
    try:
        return _read(data)
    except Malformed:
        raise AnswerInvalid(None) from None


def _read(data: Data) -> ProcessAnswer:
    start = skip_space(data, 0)
    if data[start : start + 1] != b"{":
        _head(data, Span(start, len(data)), None)  # says what it should be
        raise AnswerInvalid(None)
    whole = Span(start, value_end(data, start))
    if skip_space(data, whole.end) != len(data):
        raise AnswerInvalid(None)
    found = members(data, whole, frozenset({"detections"})).get("detections")
    detections = found if found and data[found.start : found.start + 1] == b"[" else None
    try:
        head = _head(data, whole, detections)
    except AnswerInvalid as exc:
        # A field after the detections: their problems come first, as in a whole validation.
        if detections is None or exc.error is None or exc.error["loc"][:1] in _HEAD_LOCS:
            raise
        _by_image(data, detections)
        raise
    by_image = _by_image(data, detections) if detections is not None else {}
    return ProcessAnswer(head, data, by_image)


def _by_image(data: Data, detections: Span) -> dict[str, list[Span]]:
    """Each detection checked and typed, then dropped: its place kept under its image."""
    by_image: dict[str, list[Span]] = {}
    for n, span in enumerate(iter_elements(data, detections, limit=MAX_DETECTIONS)):
        if n >= MAX_DETECTIONS:
            message = f"List should have at most {MAX_DETECTIONS} items after validation"
            raise AnswerInvalid({"loc": ("detections",), "type": "too_long", "msg": message})
        _within_caps(data, span, f"detections[{n}]")
        try:
            detection = DetectionResponse.model_validate_json(data[span.start : span.end])
        except ValidationError as exc:
            first = exc.errors()[0]
            raise AnswerInvalid({**first, "loc": ("detections", n, *first["loc"])}) from None
        by_image.setdefault(detection.source_image_id, []).append(span)
    return by_image


def _head(data: Data, whole: Span, detections: Span | None) -> ProcessResponse:
    """The answer's fields besides its detections (which stand in as an empty list)."""
    inner = detections or Span(whole.end, whole.end)
    stand_in = b"[]" if detections else b""
    _within_caps(data, whole, "the answer besides its detections", inner, stand_in)
    try:
        return ProcessResponse.model_validate_json(replaced(data, whole, inner, stand_in))
    except ValidationError as exc:
        first = exc.errors()[0]
        raise AnswerInvalid(None if first["type"] == "json_invalid" else first) from None


def _within_caps(
    data: Data, outer: Span, what: str, inner: Span | None = None, stand_in: bytes = b""
) -> None:
    cut = inner or Span(outer.end, outer.end)
    size = outer.end - outer.start - (cut.end - cut.start) + len(stand_in)
    values = json_values(data, outer.start, outer.end) - json_values(data, cut.start, cut.end)
    if size > MAX_PART_BYTES:
        raise AnswerInvalid(None, f"{what} is more than {MAX_PART_BYTES} bytes")
    if values > MAX_PART_VALUES:
        raise AnswerInvalid(
            None,
            f"{what} holds more than {MAX_PART_VALUES} JSON values; ask it for fewer "
            "classes per classification",
        )
