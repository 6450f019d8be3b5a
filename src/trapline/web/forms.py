"""Checks of what people type into forms, with messages shown next to the field."""

from __future__ import annotations

import re
from datetime import datetime
from typing import TypeVar

from pydantic import BaseModel, ValidationError

from trapline.errors import InvalidInput
from trapline.http.params import MAX_ID
from trapline.protocol.base import MAX_NAME, describe_problem

M = TypeVar("M", bound=BaseModel)

#: What a one-line name may not hold: control, line-separator, bidirectional and invisible
#: characters (the same rule as the API's ONE_LINE names).
_NOT_ONE_LINE = re.compile(
    "[\x00-\x1f\x7f-\x9f\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)
#: Longest free text (descriptions).
MAX_TEXT = 10_000


def form_id(value: object, field: str) -> int:
    """An object's id sent in a form field (InvalidInput naming ``field`` otherwise)."""
    text = str(value).strip()
    if not text.isdigit() or not 1 <= int(text) <= MAX_ID:
        raise InvalidInput(f"{field}: an id (got {text[:20]!r})")
    return int(text)


def one_line(value: str, field: str, *, required: bool = True, limit: int = MAX_NAME) -> str:
    """A trimmed one-line name, or InvalidInput naming the field and what to fix."""
    value = value.strip()
    if required and not value:
        raise InvalidInput(f"{field}: required")
    if len(value) > limit:
        raise InvalidInput(f"{field}: at most {limit} characters (got {len(value)})")
    if _NOT_ONE_LINE.search(value):
        raise InvalidInput(f"{field}: one line of visible characters")
    return value


def text_block(value: str, field: str) -> str:
    """Free text of a few lines (a description)."""
    if len(value) > MAX_TEXT:
        raise InvalidInput(f"{field}: at most {MAX_TEXT} characters (got {len(value)})")
    if "\x00" in value:
        raise InvalidInput(f"{field}: must not contain NUL characters")
    return value.strip()


def optional_number(value: str, field: str, low: float, high: float) -> float | None:
    """A number in [low, high], or None for an empty field."""
    value = value.strip()
    if not value:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidInput(f"{field}: a number from {low:g} to {high:g} (got {value!r})") from None
    if not low <= number <= high:
        raise InvalidInput(f"{field}: a number from {low:g} to {high:g} (got {value})")
    return number


def optional_int(value: str, field: str, low: int, high: int) -> int | None:
    """A whole number in [low, high], or None for an empty field."""
    value = value.strip()
    if not value:
        return None
    message = f"{field}: a whole number from {low:,} to {high:,} (got {value!r})"
    if not (value.isascii() and value.isdigit()) or len(value) > 20:
        raise InvalidInput(message)
    number = int(value)
    if not low <= number <= high:
        raise InvalidInput(message)
    return number


def optional_time(value: str, field: str) -> datetime | None:
    """A date or date-time (``YYYY-MM-DD`` or ``YYYY-MM-DDTHH:MM``), or None when empty."""
    value = value.strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise InvalidInput(f"{field}: a date like 2024-06-21 or 2024-06-21T22:00") from None
    return parsed.replace(tzinfo=None)


def validate(model: type[M], values: dict[str, object]) -> tuple[M | None, dict[str, str]]:
    """``values`` checked by the API's own input model: the object, or messages by field.

    Empty fields are left out, so they take the model's defaults.
    """
    given = {k: v for k, v in values.items() if v not in ("", None)}
    try:
        return model.model_validate(given), {}
    except ValidationError as exc:
        errors: dict[str, str] = {}
        for problem in exc.errors():
            field = str(problem["loc"][0]) if problem["loc"] else "form"
            errors.setdefault(field, describe_problem(problem))
        return None, errors
