"""Checks of what people type into forms, with messages shown next to the field."""

from __future__ import annotations

import math
import types
from datetime import datetime
from typing import Annotated, Any, TypeVar, Union, get_args, get_origin

from annotated_types import Ge, Le
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from trapline.domain.core.text import NOT_ONE_LINE
from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID
from trapline.protocol.base import MAX_NAME, describe_problem

M = TypeVar("M", bound=BaseModel)

#: Longest free text (descriptions).
MAX_TEXT = 10_000
#: Longest number a number field takes (its ``maxlength``).
MAX_NUMBER = 20


#: Room for a file form's framing and fields around its file.
FILE_FORM_FRAMING = 64 * 1024
MB = 1024 * 1024


def file_over_limit(headers: Any, what: str, limit: int, advice: str) -> str | None:
    """The problem with a file form whose declared length is over ``limit`` bytes and its
    framing (refused before the body is read; a smaller file is measured as it is read)."""
    declared = whole_number(headers.get("content-length", ""), 10**18)
    if declared is None or declared <= limit + FILE_FORM_FRAMING:
        return None
    return (
        f"file: {what} may be at most {limit // MB} MB (this upload is "
        f"{declared / MB:.1f} MB): {advice}"
    )


def whole_number(value: object, most: int) -> int | None:
    """``value`` as a whole number from 0 to ``most`` in ASCII digits; None for anything else
    (``isdigit`` alone passes a superscript ``²``, which ``int`` refuses, and thousands of
    digits, which ``int`` refuses past 4,300)."""
    text = str(value).strip()
    if not (text.isascii() and text.isdigit()) or len(text) > len(str(most)):
        return None
    number = int(text)
    return number if number <= most else None


def form_id(value: object, field: str) -> int:
    """An object's id sent in a form field (InvalidInput naming ``field`` otherwise)."""
    number = whole_number(value, MAX_ID)
    if number is None or number < 1:
        raise InvalidInput(f"{field}: an id (got {str(value).strip()[:20]!r})", field=field)
    return number


def one_line(value: str, field: str, *, required: bool = True, limit: int = MAX_NAME) -> str:
    """A trimmed one-line name, or InvalidInput naming the field and what to fix."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field}: required", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters (got {len(value)})", field=field)
    if NOT_ONE_LINE.search(value):
        raise InvalidInput(f"{field}: one line of visible characters", field=field)
    return value


def text_block(value: str, field: str) -> str:
    """Free text of a few lines (a description)."""
    if len(value) > MAX_TEXT:
        raise InvalidInput(
            f"{field}: at most {MAX_TEXT} characters (got {len(value)})", field=field
        )
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain NUL characters", field=field)
    return value.strip()


def optional_number(value: str, field: str, low: float, high: float) -> float | None:
    """A number in [low, high], or None for an empty field."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(
            f"{field}: a number from {low:g} to {high:g} (got {value!r})", field=field
        ) from None
    if not low <= number <= high:
        raise InvalidInput(f"{field}: a number from {low:g} to {high:g} (got {value})", field=field)
    return number


def typed_number(values: dict[str, str], field: str, low: float, high: float) -> float | None:
    """A number field as a person typed it (a decimal comma, as many write it, read as a
    point), or None when it is empty; InvalidInput naming the field when it is no number in
    [low, high]. A value longer than ``MAX_NUMBER`` is cut in ``values`` to what the field
    takes, so the page shows it back as the field would hold it."""
    typed = values[field]
    if len(typed) > MAX_NUMBER:
        values[field] = typed[:MAX_NUMBER]
        raise InvalidInput(
            f"{field}: a number from {low:g} to {high:g} (got {len(typed)} characters)",
            field=field,
        )
    return optional_number(typed.replace(",", "."), field, low, high)


def optional_time(value: str, field: str) -> datetime | None:
    """A date or date-time (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``), or None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(
            f"{field}: a date like 2024-06-21 or 2024-06-21T22:00", field=field
        ) from None
    return parsed.replace(tzinfo=None)


def _number_field(info: FieldInfo) -> tuple[type, Any, Any] | None:
    """``(int or float, lower bound, upper bound)`` when the field holds a number, optional or
    not; else None."""
    kind: Any = info.annotation
    rules: list[Any] = list(info.metadata)
    while True:
        origin = get_origin(kind)
        if origin is Annotated:
            kind, *extra = get_args(kind)
            for rule in extra:
                rules.extend(rule.metadata if isinstance(rule, FieldInfo) else [rule])
        elif origin in (Union, types.UnionType):
            kept = [a for a in get_args(kind) if a is not type(None)]
            if len(kept) != 1:
                return None
            kind = kept[0]
        else:
            break
    if kind not in (int, float):
        return None
    low = next((r.ge for r in rules if isinstance(r, Ge)), None)
    high = next((r.le for r in rules if isinstance(r, Le)), None)
    return kind, low, high


def _shown(bound: float) -> str:
    return f"{bound:,}" if isinstance(bound, int) else f"{bound:,g}"


def _typed_number(text: str, field: str, kind: type, low: Any, high: Any) -> int | float:
    """A number a person typed, read as the model's field wants it.

    A decimal comma is read as a point (``44,4759``), since many people write it so.
    """
    whole = kind is int
    what = "a whole number" if whole else "a number"
    if low is not None and high is not None:
        what += f" from {_shown(low)} to {_shown(high)}"
    candidate = text.strip().replace("\u2212", "-")  # a typographic minus
    if not whole and candidate.count(",") == 1 and "." not in candidate:
        candidate = candidate.replace(",", ".")
    try:
        if len(candidate) > 40 or not candidate.isascii():
            raise ValueError(candidate)
        number = int(candidate) if whole else float(candidate)
    except ValueError:
        raise InvalidInput(f"{field}: {what} (got {text.strip()[:40]!r})", field=field) from None
    if (
        (not whole and not math.isfinite(number))
        or (low is not None and number < low)
        or (high is not None and number > high)
    ):
        raise InvalidInput(f"{field}: {what} (got {text.strip()[:40]!r})", field=field)
    return number


def validate(model: type[M], values: dict[str, object]) -> tuple[M | None, dict[str, str]]:
    """``values`` checked by the API's own input model: the object, or messages by field.

    Empty fields are left out, so they take the model's defaults. Text typed into a field the
    model holds a number in is read as a number first (the API takes only JSON numbers there).
    """
    given: dict[str, object] = {}
    errors: dict[str, str] = {}
    for name, value in values.items():
        if value in ("", None):
            continue
        info = model.model_fields.get(name)
        number = _number_field(info) if info is not None else None
        if isinstance(value, str) and number is not None:
            try:
                value = _typed_number(value, name, *number)
            except InvalidInput as exc:
                errors[name] = exc.detail
                continue
        given[name] = value
    try:
        checked = model.model_validate(given)
    except ValidationError as exc:
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "form"
            errors.setdefault(field, describe_problem(problem))
        return None, errors
    return (None, errors) if errors else (checked, {})
