"""Bodies of projects, their members and their deployments."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    Field,
    StrictBool,
    StringConstraints,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from trapline.domain.core.records import (
    HALF_PLACE,
    Contact,
    Deployment,
    Membership,
    Project,
    half_place,
)
from trapline.domain.core.roles import Role
from trapline.domain.photos.local_times import MAX_ZONE_LENGTH, Reread, RereadStatus, zone_error
from trapline.protocol.base import NOT_TEXT, ONE_LINE
from trapline.schemas.accounts import Email, clean_email
from trapline.schemas.common import (
    BodyId,
    Description,
    Input,
    Instant,
    Latitude,
    Longitude,
    Moment,
    Name,
    Patch,
    WallClock,
)


def _iana(name: str) -> str:
    if (problem := zone_error(name)) is not None:
        raise PydanticCustomError("time_zone", "{problem}", {"problem": problem})
    return name


#: An IANA time zone name (``Africa/Dar_es_Salaam``, ``Europe/London``, ``UTC``).
TimeZone = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ZONE_LENGTH),
    AfterValidator(_iana),
    Field(
        description="an IANA time zone name such as Africa/Dar_es_Salaam: capture times "
        "without a UTC offset are read in it",
        examples=["Africa/Dar_es_Salaam"],
    ),
]


#: What a project records; it sets a new project's event rule.
Kind = Annotated[
    Literal["light_trap", "camera_trap", "other"],
    Field(
        description="light_trap: events are nights (noon to noon); camera_trap: events are "
        "sequences split by gaps over 60 s; other: nights. Set at creation; the rule can be "
        "changed afterwards (PUT /projects/{id}/event-rule)"
    ),
]

#: A pipeline a project counts by: one of its pipelines (a slug, or the name an import gave).
CountingPipeline = Annotated[
    str,
    StringConstraints(min_length=1, max_length=255, pattern=ONE_LINE),
    Field(
        description="the pipeline a person chose for the project: every deployment it has "
        "results on counts by it, but those a person chose another for "
        "(PUT /deployments/{id}/counting)"
    ),
]


class ProjectIn(Input):
    name: Name
    description: Description = ""
    kind: Kind = "other"


#: The marks the web form's contact lines are made of (``name <email>; organisation; role``):
#: no name or email holds them, so every stored contact comes back from the form as it was.
_LINE_MARKS = frozenset("<>;")


def _contact_name(name: str) -> str:
    if found := sorted((_LINE_MARKS | {"@"}) & set(name)):
        raise PydanticCustomError(
            "contact_name",
            "a name only, without {marks}: the email, organisation and role have their own fields",
            {"marks": " ".join(found)},
        )
    return name


def _contact_email(email: str) -> str:
    if email and (_LINE_MARKS & set(email) or not _is_email(email)):
        raise PydanticCustomError("email", "an email such as ann@example.org, or nothing")
    return email


def _is_email(value: str) -> bool:
    """Whether ``value`` is an address as accounts take them (kept as written, not lowered)."""
    try:
        clean_email(value)
    except ValueError:
        return False
    return True


class ContactIn(Input):
    """A person or organisation named when the project's data are published."""

    name: Annotated[
        str,
        StringConstraints(strip_whitespace=True, min_length=1, max_length=200, pattern=ONE_LINE),
        AfterValidator(_contact_name),
    ]
    email: Annotated[
        str,
        StringConstraints(strip_whitespace=True, max_length=254, pattern=ONE_LINE),
        AfterValidator(_contact_email),
    ] = ""
    organisation: Annotated[
        str, StringConstraints(strip_whitespace=True, max_length=200, pattern=ONE_LINE)
    ] = ""
    role: Literal["contact", "principalInvestigator", "rightsHolder", "publisher", "creator"] = (
        "contact"
    )

    def record(self) -> Contact:
        return Contact(self.name, self.email, self.organisation, self.role)


class ContactOut(BaseModel):
    name: str
    email: str
    organisation: str
    role: str


class ProjectPatch(Patch):
    required_fields: ClassVar[tuple[str, ...]] = (
        "name",
        "description",
        "classification_top_k",
        "keep_full_scores",
        "time_zone",
        "licence",
        "contacts",
        "kind",
    )

    name: Name | None = None
    description: Description | None = None
    classification_top_k: Annotated[int, Field(ge=1, le=100), NOT_TEXT] | None = None
    keep_full_scores: StrictBool | None = None
    #: Changing it re-reads, in the background, the capture times of the images that follow it.
    time_zone: TimeZone | None = None
    licence: (
        Annotated[
            str,
            StringConstraints(strip_whitespace=True, max_length=255, pattern=ONE_LINE),
            Field(description="the data's licence: a URL or an SPDX id such as CC-BY-4.0"),
        ]
        | None
    ) = None
    contacts: Annotated[list[ContactIn], Field(max_length=20)] | None = None
    kind: Kind | None = None
    counting_pipeline: CountingPipeline | None = None

    def changes(self) -> dict[str, object]:
        found = super().changes()
        if self.contacts is not None:
            found["contacts"] = tuple(c.record() for c in self.contacts)
        return found


class RereadOut(BaseModel):
    """A re-reading of capture times after a time zone changed, with its progress."""

    id: int
    project_id: int
    deployment_id: int | None = Field(
        description="the deployment whose images are re-read; null: the images that follow "
        "the project's default zone"
    )
    time_zone: str
    status: RereadStatus
    images_total: int | None = Field(description="images to re-read (null until it starts)")
    images_done: int
    error: str | None
    created_at: Instant
    finished_at: Instant | None

    @classmethod
    def of(cls, r: Reread) -> RereadOut:
        return cls(
            id=r.id,
            project_id=r.project_id,
            deployment_id=r.deployment_id,
            time_zone=r.time_zone,
            status=r.status,
            images_total=r.images_total,
            images_done=r.images_done,
            error=r.error,
            created_at=r.created_at,
            finished_at=r.finished_at,
        )


class ProjectOut(BaseModel):
    id: int
    name: str
    description: str
    image_count: int
    created_at: Instant
    classification_top_k: int
    keep_full_scores: bool
    time_zone: str = Field(description="the IANA time zone of deployments that name none")
    licence: str = Field("", description="the data's licence, as publishing names it")
    contacts: list[ContactOut] = Field(default_factory=list)
    kind: str = Field("other", description="light_trap, camera_trap or other")
    counting_pipeline: str | None = Field(
        None,
        description="the pipeline a person chose for the project's counts; null: none chosen, "
        "each deployment counts by the first results tracked on it "
        "(GET /projects/{id}/counting says what each counts by)",
    )
    event_rule: str = Field(
        "night",
        description="how deployments that name no rule group their photos: night or sequence "
        "(PUT /projects/{id}/event-rule changes it)",
    )
    event_gap_seconds: int = Field(60, description="the gap that starts a new sequence")
    role: Role | None = None
    reread: RereadOut | None = Field(
        None, description="the re-reading of capture times this change started (PATCH only)"
    )

    @classmethod
    def of(
        cls, project: Project, role: Role | None = None, reread: Reread | None = None
    ) -> ProjectOut:
        return cls(
            id=project.id,
            name=project.name,
            description=project.description,
            image_count=project.image_count,
            created_at=project.created_at,
            classification_top_k=project.classification_top_k,
            keep_full_scores=project.keep_full_scores,
            time_zone=project.time_zone,
            licence=project.licence,
            contacts=[ContactOut(**asdict(c)) for c in project.contacts],
            kind=project.kind,
            counting_pipeline=project.counting_pipeline,
            event_rule=project.event_rule,
            event_gap_seconds=project.event_gap_seconds,
            role=role,
            reread=RereadOut.of(reread) if reread else None,
        )


class MemberIn(Input):
    email: Email
    role: Role

    _check_email = field_validator("email")(clean_email)


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


#: What a deployment's ``standard_time`` means.
STANDARD_TIME = (
    "the camera's clock keeps the zone's standard (winter) time all year, never daylight "
    "saving: capture times without an offset are read at the zone's standard offset"
)


def _whole_place(model: Any) -> Any:
    """Refuse one coordinate without the other, naming the missing one."""
    half = half_place(model.latitude, model.longitude)
    if half is not None:
        missing, given = half
        problem = PydanticCustomError(
            "half_place", HALF_PLACE, {"missing": missing, "given": given}
        )
        raise ValidationError.from_exception_data(
            type(model).__name__,
            [InitErrorDetails(type=problem, loc=(missing,), input=None)],
        )
    return model


class DeploymentIn(Input):
    name: Name
    description: Description = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None
    #: None: the project's default zone.
    time_zone: TimeZone | None = None
    standard_time: StrictBool = Field(False, description=STANDARD_TIME)

    _wall_clock = field_validator("started_at", "ended_at")(_wall_clock_period)
    _place = model_validator(mode="after")(_whole_place)


class DeploymentPatch(Patch):
    name: Name | None = None
    description: Description | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    started_at: Moment | None = None
    ended_at: Moment | None = None
    #: null: follow the project's default zone. A change re-reads the images' capture times.
    time_zone: TimeZone | None = None
    #: A change re-reads the images' capture times.
    standard_time: StrictBool | None = Field(None, description=STANDARD_TIME)

    required_fields: ClassVar[tuple[str, ...]] = ("name", "description", "standard_time")

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
    time_zone: str | None = Field(
        description="the IANA time zone capture times without an offset are read in; null: "
        "the project's default"
    )
    standard_time: bool = Field(description=STANDARD_TIME)
    counting_pipeline: str | None = Field(
        None,
        description="the pipeline the deployment's counts are of (null: nothing tracked on it "
        "yet); set by the first results tracked on it, then only by a person",
    )
    counting_chosen: str | None = Field(
        None, description="who chose it: results (the first tracked), project or person"
    )
    counting_not_carried: list[str] = Field(
        default_factory=list,
        description="people's identifications and reviews the last change of it could not "
        "carry to the new pipeline's individuals (they stay on their own boxes), a line each",
    )
    reread: RereadOut | None = Field(
        None, description="the re-reading of capture times this change started (PATCH only)"
    )

    @classmethod
    def of(cls, d: Deployment, reread: Reread | None = None) -> DeploymentOut:
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
            time_zone=d.time_zone,
            standard_time=d.standard_time,
            counting_pipeline=d.counting_pipeline,
            counting_chosen=d.counting_chosen,
            counting_not_carried=list(d.counting_not_carried),
            reread=RereadOut.of(reread) if reread else None,
        )


class MoveIn(Input):
    """Images to put into a deployment."""

    image_ids: list[BodyId] = Field(min_length=1, max_length=10_000)
    deployment_id: BodyId | None = Field(
        description="the deployment of the same project they go into; null: out of any"
    )


class PinIn(Input):
    """The version of a pipeline whose results are current; null: the newest."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1), NOT_TEXT] | None
