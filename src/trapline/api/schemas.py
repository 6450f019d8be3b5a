"""Request and response bodies of the platform API (the worker protocol is in protocol.py)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StringConstraints,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from trapline.domain.records import (
    ApiToken,
    Collection,
    Deployment,
    Image,
    ImageFilter,
    Membership,
    Project,
    User,
)
from trapline.domain.roles import Role
from trapline.protocol import FREE_TEXT, NOT_TEXT, ONE_LINE

_EMAIL = re.compile(r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")

#: Longest email address (RFC 5321; the column holds 254 characters).
MAX_EMAIL = 254
#: Most images named in one request body (a collection's ``image_ids``).
MAX_COLLECTION_IMAGES = 100_000

#: An object id in a request body (a 64-bit column).
BodyId = Annotated[int, Field(ge=1, le=2**63 - 1), NOT_TEXT]
#: A name of a project, deployment or collection: one line, 1 to 200 characters.
Name = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=ONE_LINE)]
#: An optional label (a user's or a token's name): one line, at most 200 characters.
Label = Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)]
#: An instant in an answer: always with its UTC offset (naive ones are refused, not sent).
Instant = AwareDatetime
#: A camera's or station's wall-clock time: with its UTC offset when one is known, else none.
WallClock = Annotated[
    datetime,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$",
            "description": "wall-clock time where it was taken (ISO 8601); with a UTC offset "
            "only when the camera recorded one",
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


def _email(value: str) -> str:
    value = value.strip().lower()
    if not _EMAIL.match(value) or len(value) > MAX_EMAIL:
        raise ValueError("not an email address")
    return value


#: An email address, stripped and lower-cased.
Email = Annotated[
    str, StringConstraints(max_length=MAX_EMAIL, pattern=r"^\s*" + _EMAIL.pattern[1:-1] + r"\s*$")
]


class UserIn(Input):
    email: Email
    name: Label = ""
    is_admin: StrictBool = False

    _check_email = field_validator("email")(_email)


class UserOut(BaseModel):
    id: int
    email: str
    name: str
    is_admin: bool
    created_at: Instant
    #: False once an admin deactivated the account: its tokens and sessions no longer work.
    is_active: bool = True
    #: A processing service's account (works only as a worker).
    is_service: bool = False

    @classmethod
    def of(cls, user: User) -> UserOut:
        return cls(
            id=user.id,
            email=user.email,
            name=user.name,
            is_admin=user.is_admin,
            created_at=user.created_at,
            is_active=user.is_active,
            is_service=user.is_service,
        )


class PasswordOut(BaseModel):
    #: The new password; shown only in this answer.
    password: str


class TokenIn(Input):
    name: Label = ""


class TokenOut(BaseModel):
    id: int
    name: str
    prefix: str
    created_at: Instant
    last_used_at: Instant | None
    revoked_at: Instant | None

    @classmethod
    def of(cls, token: ApiToken) -> TokenOut:
        return cls(
            id=token.id,
            name=token.name,
            prefix=token.prefix,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            revoked_at=token.revoked_at,
        )


class NewTokenOut(TokenOut):
    token: str = Field(description="the secret; shown only in this answer")


class ProjectIn(Input):
    name: Name
    description: Description = ""


class ProjectPatch(Patch):
    required_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "description",
        "classification_top_k",
        "keep_full_scores",
    )

    name: Name | None = None
    description: Description | None = None
    classification_top_k: Annotated[int, Field(ge=1, le=100), NOT_TEXT] | None = None
    keep_full_scores: StrictBool | None = None


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str
    image_count: int
    created_at: Instant
    classification_top_k: int
    keep_full_scores: bool
    role: Role | None = None

    @classmethod
    def of(cls, project: Project, role: Role | None = None) -> ProjectOut:
        return cls(
            id=project.id,
            name=project.name,
            description=project.description,
            image_count=project.image_count,
            created_at=project.created_at,
            classification_top_k=project.classification_top_k,
            keep_full_scores=project.keep_full_scores,
            role=role,
        )


class MemberIn(Input):
    email: Email
    role: Role

    _check_email = field_validator("email")(_email)


class MemberOut(BaseModel):
    user_id: int
    email: str
    name: str
    role: Role
    created_at: Instant

    @classmethod
    def of(cls, member: Membership) -> MemberOut:
        return cls(
            user_id=member.user_id,
            email=member.email,
            name=member.name,
            role=member.role,
            created_at=member.created_at,
        )


def _wall_clock_period(value: datetime | None) -> datetime | None:
    # Deployment times, like capture times, are the station's wall clock; an offset is dropped.
    return value.replace(tzinfo=None) if value is not None else None


class DeploymentIn(Input):
    name: Name
    description: Description = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None

    _wall_clock = field_validator("started_at", "ended_at")(_wall_clock_period)


class DeploymentPatch(Patch):
    name: Name | None = None
    description: Description | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None

    _wall_clock = field_validator("started_at", "ended_at")(_wall_clock_period)


class DeploymentOut(BaseModel):
    id: int
    project_id: int
    name: str
    description: str
    latitude: float | None
    longitude: float | None
    started_at: WallClock | None
    ended_at: WallClock | None
    created_at: Instant

    @classmethod
    def of(cls, d: Deployment) -> DeploymentOut:
        return cls(
            id=d.id,
            project_id=d.project_id,
            name=d.name,
            description=d.description,
            latitude=d.latitude,
            longitude=d.longitude,
            started_at=d.started_at,
            ended_at=d.ended_at,
            created_at=d.created_at,
        )


def captured_at_of(image: Image) -> datetime | None:
    """Capture time with its UTC offset when the camera recorded one."""
    if image.captured_at is None or image.captured_offset_minutes is None:
        return image.captured_at
    return image.captured_at.replace(
        tzinfo=timezone(timedelta(minutes=image.captured_offset_minutes))
    )


class ImageOut(BaseModel):
    id: int
    project_id: int
    deployment_id: int | None
    filename: str
    sha256: str
    size_bytes: int
    width: int
    height: int
    content_type: str
    captured_at: WallClock | None
    source: str
    created_at: Instant

    @classmethod
    def of(cls, image: Image) -> ImageOut:
        return cls(
            id=image.id,
            project_id=image.project_id,
            deployment_id=image.deployment_id,
            filename=image.filename,
            sha256=image.sha256,
            size_bytes=image.size_bytes,
            width=image.width,
            height=image.height,
            content_type=image.content_type,
            captured_at=captured_at_of(image),
            source=image.source,
            created_at=image.created_at,
        )


class UploadedOut(BaseModel):
    status: Literal["created", "duplicate", "refused"] = Field(
        description="created: stored as a new image; duplicate: the project has these bytes "
        "already (the image they are); refused: not stored, see reason"
    )
    filename: str = Field(description="the stored image's name (a duplicate's: the first's)")
    id: int | None
    sha256: str | None
    duplicate: bool
    width: int | None
    height: int | None
    captured_at: WallClock | None
    reason: str | None = Field(None, description="why a refused file was not stored")
    code: str | None = Field(None, description="the refusal as a slug (as in error answers)")


class UploadOut(BaseModel):
    results: list[UploadedOut] = Field(description="one per file sent, in the order sent")
    created: int
    duplicates: int
    refused: int


class FilterIn(Input):
    deployment_id: BodyId | None = None
    captured_after: Moment | None = None
    captured_before: Moment | None = None

    def to_filter(self) -> ImageFilter:
        return ImageFilter(
            deployment_id=self.deployment_id,
            captured_after=_wall_clock(self.captured_after),
            captured_before=_wall_clock(self.captured_before),
        )


def _wall_clock(value: datetime | None) -> datetime | None:
    # Capture times are camera wall-clock times; compare on the clock reading.
    return value.replace(tzinfo=None) if value is not None else None


class CollectionIn(Input):
    name: Name
    description: Description = ""
    image_ids: list[BodyId] | None = Field(None, max_length=MAX_COLLECTION_IMAGES)
    filter: FilterIn | None = None


class CollectionOut(BaseModel):
    id: int
    project_id: int
    name: str
    description: str
    kind: str
    filter: dict[str, object] | None
    image_count: int | None
    created_at: Instant

    @classmethod
    def of(cls, c: Collection) -> CollectionOut:
        return cls(
            id=c.id,
            project_id=c.project_id,
            name=c.name,
            description=c.description,
            kind=c.kind,
            filter=c.filter.as_json() if c.filter else None,
            image_count=c.image_count,
            created_at=c.created_at,
        )
