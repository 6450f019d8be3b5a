"""Bodies of projects, their members and their deployments."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, ClassVar

from pydantic import BaseModel, Field, StrictBool, field_validator

from trapline.domain.records import Deployment, Membership, Project
from trapline.domain.roles import Role
from trapline.protocol.base import NOT_TEXT
from trapline.schemas.accounts import Email, clean_email
from trapline.schemas.common import (
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
