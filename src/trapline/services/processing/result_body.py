"""A post of results read one part at a time, so memory follows the largest part, not the post.

A post is kept as the bytes it arrived in. ``read_post`` first walks its structure
(``protocol.json_spans``) and checks every part before anything is stored: the body without
its results, each item without its detections, and each detection, each within the part caps
(``protocol.MAX_PART_VALUES``, ``MAX_PART_BYTES``) and each valid JSON. A post that fails
that is answered 400 or 413 as a whole, as before. Then each item is typed only when it is
judged (``PendingResult.read``), and its detections one by one as they become annotations
(``StreamedResult.detections``), each dropped before the next: classifications keep their
top-k labels and scores, so full score vectors live no longer than their detection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails, from_json

from trapline.errors import InvalidInput, PayloadTooLarge
from trapline.protocol.base import (
    MAX_DETECTIONS,
    MAX_PART_BYTES,
    MAX_PART_VALUES,
    MAX_RESULT_ITEMS,
    describe_problem,
    json_values,
)
from trapline.protocol.json_spans import (
    Malformed,
    Span,
    elements,
    iter_elements,
    members,
    replaced,
    skip_space,
    value_end,
    where,
)
from trapline.protocol.pipelines import ClientInfo
from trapline.protocol.results import (
    DetectionResponse,
    PipelineResultsResponse,
    ResultError,
    ResultItem,
    ResultOutcome,
    TypedResultsRequest,
)

Data = bytes | bytearray

_OUTCOME: TypeAdapter[PipelineResultsResponse | ResultError] = TypeAdapter(ResultOutcome)
#: Fields of a pipeline result validated before its detections: a problem in one of these is
#: the one an item is refused for, as when the result was validated whole.
_HEAD_LOCS = frozenset({("pipeline",), ("total_time",), ("source_images",)})
#: Longest ``reply_subject`` read (a lease token is ~100 characters).
_LONGEST_TOKEN = 4096


class Refusal(NamedTuple):
    """An item that cannot be read; ``reason`` says what to fix."""

    reason: str


class ResultInvalid(ValueError):
    """A detection of a streamed result is not valid; the message is the item's answer."""


class _Envelope(BaseModel):
    """The body of a post without its results (which stand in as an empty list)."""

    model_config = ConfigDict(extra="ignore")

    results: list[Any] = Field(max_length=0)
    client_info: ClientInfo | None = None


class _Checked(BaseModel):
    """Nothing: validating against it only parses, so a part's JSON is checked in Rust alone."""

    model_config = ConfigDict(extra="ignore")


class StreamedResult(NamedTuple):
    """A pipeline result whose detections are still in the body, typed one at a time."""

    head: PipelineResultsResponse  #: every field but ``detections`` (left empty)
    data: Data
    spans: list[Span]  #: where its detections lie in ``data``

    def detections(self) -> Iterator[DetectionResponse]:
        """Each detection, typed as it is reached; ResultInvalid for one that is not valid."""
        for n, span in enumerate(self.spans):
            try:
                yield DetectionResponse.model_validate_json(self.data[span.start : span.end])
            except ValidationError as exc:
                raise ResultInvalid(_refused(exc.errors()[0], ("detections", n))) from None

    def problem(self) -> str | None:
        """Why a detection is not valid (the first), or None when all are."""
        try:
            for _ in self.detections():
                pass
        except ResultInvalid as exc:
            return str(exc)
        return None


@dataclass(frozen=True, slots=True)
class PendingResult:
    """An item's ``result`` still in the body: typed when the item is judged."""

    data: Data
    result: Span
    detections: Span | None  #: the result's detections array, when it has one

    def read(self) -> PipelineResultsResponse | ResultError | StreamedResult | Refusal:
        """The result typed (its detections left in the body), or why it cannot be."""
        if self.detections is None:
            part = bytes(self.data[self.result.start : self.result.end])
        else:
            part = replaced(self.data, self.result, self.detections, b"[]")
        try:
            head = _OUTCOME.validate_json(part)
        except ValidationError:
            return self._refusal(part)
        if isinstance(head, ResultError) or self.detections is None:
            return head
        spans = elements(self.data, self.detections, limit=MAX_DETECTIONS)
        if len(spans) > MAX_DETECTIONS:
            return Refusal(_refused(_too_long("detections", MAX_DETECTIONS)))
        return StreamedResult(head, self.data, spans)

    def _refusal(self, part: bytes) -> Refusal:
        """Why the result is refused, in the words a result validated whole was refused in
        (the first problem in the order of its fields)."""
        value = from_json(part)
        if not isinstance(value, dict):
            return Refusal("result must be an object: a pipeline result or {error, image_id}")
        kind = ResultError if "error" in value else PipelineResultsResponse
        try:
            kind.model_validate(value)
        except ValidationError as exc:
            first = exc.errors()[0]
            later = first["loc"][:1] not in _HEAD_LOCS  # a field after the detections
            if kind is PipelineResultsResponse and later and self.detections is not None:
                spans = elements(self.data, self.detections, limit=MAX_DETECTIONS)
                head = PipelineResultsResponse(pipeline="-")
                if problem := StreamedResult(head, self.data, spans).problem():
                    return Refusal(problem)
            return Refusal(_refused(first))
        # Typed from JSON it failed, from Python it passed: the modes differ on some value.
        return Refusal("result is not valid")


def _refused(error: ErrorDetails | dict[str, Any], prefix: tuple[str | int, ...] = ()) -> str:
    located = {**error, "loc": (*prefix, *error.get("loc", ()))}
    return f"result is not valid: {describe_problem(located)}"


def _too_long(field: str, most: int) -> dict[str, Any]:
    """A list's too-long problem, worded as pydantic words it."""
    message = f"List should have at most {most} items after validation"
    return {"loc": (field,), "type": "too_long", "msg": message}


class PostedItem(NamedTuple):
    """One item of a post as first read: its ``reply_subject`` and its result, typed already
    (a post read whole) or still in the body (where it lies)."""

    reply_subject: Any
    result: PipelineResultsResponse | ResultError | PendingResult | None


class ReadPost(NamedTuple):
    """A post whose every part was checked: its ``client_info`` and its items."""

    client_info: ClientInfo | None
    items: list[PostedItem]


def read_post(data: Data) -> ReadPost:
    """Check a post of results part by part, reading only what leases and answers need; a post
    within the caps of one part, whose every item is valid, is typed whole in one pass.

    Raises:
        InvalidInput: the body is not JSON, or not ``{"results": [...]}``.
        PayloadTooLarge: a part holds more than the part caps allow (the answer names it).
        ValidationError: the body besides its results is not valid (``client_info``).
    """
    # A value takes a byte at least: a post no longer than the values cap is within it.
    size = len(data)
    if size <= MAX_PART_VALUES or (size <= MAX_PART_BYTES and json_values(data) <= MAX_PART_VALUES):
        whole = _read_whole(data)
        if whole is not None:
            return whole
    try:
        return _read_post(data)
    except Malformed as exc:
        raise InvalidInput(
            f"the request body is not valid JSON: {exc.what} at {where(data, exc.position)}"
        ) from None


def _read_whole(data: Data) -> ReadPost | None:
    """The post typed in one pass, as a worker's posts nearly always are: within the caps of
    one part it costs no more memory than a part read alone (decision 037), and pydantic-core
    walks it at C speed. None when anything in it is not valid: the post is then read part by
    part, which words each problem as its own item's answer."""
    try:
        post = TypedResultsRequest.model_validate_json(data)
    except ValidationError:
        return None
    return ReadPost(post.client_info, [PostedItem(i.reply_subject, i.result) for i in post.results])


def _read_post(data: Data) -> ReadPost:
    start = skip_space(data, 0)
    if data[start : start + 1] != b"{":  # a string, a number: small once parsed
        _Envelope.model_validate_json(data)  # says what the body should be
        raise InvalidInput('the body must be an object {"results": [...]}')
    body = Span(start, value_end(data, start))
    if skip_space(data, body.end) != len(data):
        raise Malformed("trailing characters", skip_space(data, body.end))
    results = members(data, body, frozenset({"results"})).get("results")
    # The results stand in as an empty list (or an empty object, to be refused as one).
    opens = bytes(data[results.start : results.start + 1]) if results else b""
    stand_in = {b"[": b"[]", b"{": b"{}"}.get(opens)
    inner = results if results is not None and stand_in is not None else Span(body.end, body.end)
    envelope = _part(data, body, inner, stand_in or b"", "the body besides its results")
    client_info = _Envelope.model_validate_json(envelope).client_info
    assert results is not None  # the envelope requires results
    spans = elements(data, results, limit=MAX_RESULT_ITEMS)
    if len(spans) > MAX_RESULT_ITEMS:
        raise InvalidInput(describe_problem(_too_long("results", MAX_RESULT_ITEMS)))
    return ReadPost(client_info, [_read_item(data, n, span) for n, span in enumerate(spans)])


def _read_item(data: Data, n: int, item: Span) -> PostedItem:
    if data[item.start : item.start + 1] != b"{":
        small = bytes(data[item.start : item.end]) if item.end - item.start <= 80 else b"[]"
        try:
            ResultItem.model_validate_json(small)
        except ValidationError as exc:
            located = {**exc.errors()[0], "loc": ("results", n)}
            raise InvalidInput(describe_problem(located)) from None
    fields = members(data, item, frozenset({"reply_subject", "result"}))
    result = fields.get("result")
    detections = None
    if result is not None and data[result.start : result.start + 1] == b"{":
        inner = members(data, result, frozenset({"detections", "error"}))
        found = inner.get("detections")
        # An error report ({"error", "image_id"}) is read whole, whatever else it holds.
        if "error" not in inner and found and data[found.start : found.start + 1] == b"[":
            detections = found
    if detections is None:
        _part(data, item, Span(item.end, item.end), b"", f"results[{n}]")
    else:
        _part(data, item, detections, b"[]", f"results[{n}] besides its detections")
        for k, detection in enumerate(iter_elements(data, detections)):
            where_ = f"results[{n}].result.detections[{k}]"
            _part(data, detection, Span(detection.end, detection.end), b"", where_)
    pending = PendingResult(data, result, detections) if result is not None else None
    return PostedItem(_token(data, fields.get("reply_subject")), pending)


def _token(data: Data, span: Span | None) -> Any:
    if span is None or data[span.start : span.start + 1] != b'"':
        return None
    if span.end - span.start > _LONGEST_TOKEN:
        return "…"  # no lease token is this long: refused as not valid
    return from_json(data[span.start : span.end])


def _part(data: Data, outer: Span, inner: Span, stand_in: bytes, what: str) -> bytes:
    """``data[outer]`` with ``inner`` replaced by ``stand_in``: one part of a post, checked
    against the part caps (before it is copied) and parsed once to check its JSON."""
    size = outer.end - outer.start - (inner.end - inner.start) + len(stand_in)
    if size > MAX_PART_BYTES:
        raise PayloadTooLarge(
            f"{what} is {size} bytes, more than the {MAX_PART_BYTES} one part of a post may "
            "be; send fewer detections per image"
        )
    values = (
        json_values(data, outer.start, outer.end)
        - json_values(data, inner.start, inner.end)
        + json_values(stand_in)
    )
    if values > MAX_PART_VALUES:
        raise PayloadTooLarge(
            f"{what} holds more than {MAX_PART_VALUES} JSON values, the most one part of a "
            "post may hold (a detection, or an item besides its detections); send fewer "
            "classes per classification or leave out logits"
        )
    part = replaced(data, outer, inner, stand_in)
    try:
        _Checked.model_validate_json(part)
    except ValidationError as exc:
        detail = str((exc.errors()[0].get("ctx") or {}).get("error", ""))
        raise InvalidInput(f"the request body is not valid JSON: {what}: {detail}") from None
    return part
