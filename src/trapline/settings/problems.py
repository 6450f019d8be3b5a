"""Settings refused: one line that names each variable and what is wrong with its value."""

from __future__ import annotations

from typing import Any

from pydantic import SecretStr, ValidationError

from trapline.protocol.base import describe_problem
from trapline.settings.base import PREFIX, Section, variable_names


class InvalidSettings(ValueError):
    """Settings that cannot be used; the message names each variable and what is wrong."""


def section_problems(section: type[Section], exc: ValidationError) -> InvalidSettings:
    """A section's validation errors as one line, each named by its variable."""
    return InvalidSettings("; ".join(_problem(section, error) for error in exc.errors()))


def unknown_setting(keyword: str) -> InvalidSettings:
    """A keyword that names no setting."""
    return InvalidSettings(
        f"no setting is called {keyword!r}: a setting's keyword is its variable's name without "
        f"{PREFIX}, in lower case (database_url for {PREFIX}DATABASE_URL)"
    )


def _problem(section: type[Section], error: Any) -> str:
    location = error.get("loc") or ("",)
    # A field's name, or one of its variables' names when its value was read from that.
    given = str(location[0])
    where, secret = given, False
    for name, field in section.model_fields.items():
        variables = variable_names(name, field)
        if given == name or given in variables:
            where, secret = " or ".join(variables), SecretStr in _types(field.annotation)
    detail = {**error, "loc": (where, *location[1:])}
    if error.get("type") == "value_error":  # our own parsers' words, which show the value
        detail.update(msg=str((error.get("ctx") or {}).get("error", "")), input=None)
    if secret:
        detail["input"] = None  # a secret is never repeated
    return describe_problem(detail)


def _types(annotation: Any) -> tuple[Any, ...]:
    return (annotation, *getattr(annotation, "__args__", ()))
