"""Bodies of images, uploads and collections."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, Field

from trapline.domain.core.records import Collection, Image, ImageFilter
from trapline.schemas.common import BodyId, Description, Input, Instant, Moment, Name, WallClock

#: Most images named in one request body (a collection's ``image_ids``).
MAX_COLLECTION_IMAGES = 100_000


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
    event_id: int | None = Field(
        None, description="the event the image falls in; null without a time or a deployment"
    )

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
            event_id=image.event_id,
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
    deployment_id: int | None = Field(
        None,
        description="the image's deployment; a duplicate's is the first copy's, which an "
        "upload into another deployment does not move",
    )
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
