"""What the API's bodies are made of: ids, names, times, places, the error answer, input rules."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trapline.protocol.base import FREE_TEXT, NOT_TEXT, ONE_LINE

#: An object id in a request body (a 64-bit column).
BodyId = Annotated[int, Field(ge=1, le=2**63 - 1), NOT_TEXT]


#: A name of a project, deployment or collection: one line, 1 to 200 characters.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]


#: An optional label (a user's or a token's name): one line, at most 200 characters.
Label = Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)]


#: An instant in an answer: always with its UTC offset (naive ones are refused, not sent).
Instant = AwareDatetime


#: A camera's or station's wall-clock time: with its UTC offset when one is known, else none
#: (capture times always have one: the file's, else their deployment's zone's).
WallClock = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$",
            "description": "wall-clock time where it was taken (ISO 8601), with its UTC "
            "offset: the file's own, else that of its deployment's time zone",
        }
    ),
]


def iso_text_only(value: Any) -> Any:
    """``value`` unless it is a number: pydantic would read it as a Unix time, the API's
    date-times are ISO 8601."""
    if isinstance(value, int | float | bool) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise PydanticCustomError(
            "datetime_type", "Input should be an ISO 8601 date-time, such as 2024-06-21T22:00:00"
        )
    return value


#: A date-time a client sends: ISO 8601 text (with or without a UTC offset).
Moment = Annotated[datetime, BeforeValidator(iso_text_only)]


def iso_date_only(value: Any) -> Any:
    """``value`` unless it is a number: pydantic would read it as a Unix time, the API's dates
    are ISO 8601."""
    if isinstance(value, int | float | bool) or (
        isinstance(value, str) and value.strip().lstrip("+-").isdigit()
    ):
        raise PydanticCustomError(
            "date_type", "Input should be an ISO 8601 date, such as 2024-06-21"
        )
    return value


#: A date a client sends in a body: ISO 8601 text (not a Unix time).
Day = Annotated[date, BeforeValidator(iso_date_only)]


#: A description: free text of at most 10,000 characters.
Description = Annotated[str, StringConstraints(max_length=10_000, pattern=FREE_TEXT)]


Latitude = Annotated[StrictFloat, Field(ge=-90, le=90, description="decimal degrees, -90 to 90")]


Longitude = Annotated[
    StrictFloat, Field(ge=-180, le=180, description="decimal degrees, -180 to 180")
]


class ErrorOut(BaseModel):
    """Every error answer: what was wrong and what to do, and a machine-readable code."""

    detail: str = Field(description="what was wrong and what to do")
    code: str = Field(description="a short slug: invalid, not_found, permission_denied…")


class Input(BaseModel):
    """Base of request bodies: unknown fields are refused, so typos don't pass silently."""

    model_config = ConfigDict(extra="forbid")


def _no_null_in_schema(schema: dict[str, Any], model: type[BaseModel]) -> None:
    # The document says what the validator below does: these may be left out, not nulled.
    required = getattr(model, "required_fields", ())
    for name, field in schema.get("properties", {}).items():
        options = field.get("anyOf", [])
        if name in required and {"type": "null"} in options:
            kept = [o for o in options if o != {"type": "null"}]
            field.pop("anyOf")
            field.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
            field.pop("default", None)


class Patch(Input):
    """Base of PATCH bodies: only the fields sent change, and required fields can't be nulled."""

    model_config = ConfigDict(extra="forbid", json_schema_extra=_no_null_in_schema)

    #: Fields that may be left out but not set to null.
    required_fields: ClassVar[tuple[str, ...]] = ("name", "description")

    @model_validator(mode="after")
    def _no_null_required(self) -> Patch:
        for field in self.required_fields:
            if field in self.model_fields_set and getattr(self, field) is None:
                raise ValueError(f"{field} cannot be null; leave it out to keep it")
        return self

    def changes(self) -> dict[str, object]:
        """The fields the client sent."""
        return self.model_dump(exclude_unset=True)


def with_offset(moment: datetime, offset_minutes: int | None) -> datetime:
    """A stored wall-clock time with its UTC offset (None: UTC), as the API answers it."""
    return moment.replace(tzinfo=timezone(timedelta(minutes=offset_minutes or 0)))
