"""Request and response bodies of a project's processing services (pull and push mode)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from trapline.protocol.base import WireName, WireUri
from trapline.protocol.pipelines import RefusedPipeline
from trapline.schemas.common import Input, Instant
from trapline.services.pipelines.pipelines import PushRegistration, ServiceListing


class PushServiceIn(Input):
    name: WireName = Field(min_length=1)
    endpoint_url: WireUri = Field(
        min_length=1,
        description="base URL of the service's /info and /process",
        examples=["http://gpu-box.example.org:2000"],
    )


class ProcessingServiceOut(BaseModel):
    id: int
    name: str
    mode: Literal["pull", "push"]
    endpoint_url: str | None
    online: bool
    last_seen_at: Instant | None
    last_checked_at: Instant | None = Field(description="push mode: the last status check")
    last_error: str | None = Field(description="push mode: why the last check failed")
    pipelines: list[str] = Field(description="slugs of the pipelines the service offers")

    @classmethod
    def of(cls, listing: ServiceListing) -> ProcessingServiceOut:
        s = listing.service
        return cls(
            id=s.id,
            name=s.name,
            mode="pull" if s.endpoint_url is None else "push",
            endpoint_url=s.endpoint_url,
            online=s.online,
            last_seen_at=s.last_seen_at,
            last_checked_at=s.last_checked_at,
            last_error=s.last_error,
            pipelines=listing.pipelines,
        )


class PushRegistrationOut(ProcessingServiceOut):
    created: bool = Field(description="false when the call updated a service already there")
    pipelines_created: list[str]
    pipelines_updated: list[str]
    algorithms_created: list[str]
    pipelines_refused: list[RefusedPipeline] = Field(
        description="pipelines of its /info not registered because they conflict with what "
        "the project has (each with why); the others were registered"
    )

    @classmethod
    def of_registration(cls, made: PushRegistration) -> PushRegistrationOut:
        return cls(
            **ProcessingServiceOut.of(made.listing).model_dump(),
            created=made.created,
            pipelines_created=made.registration.pipelines_created,
            pipelines_updated=made.registration.pipelines_updated,
            algorithms_created=made.registration.algorithms_created,
            pipelines_refused=[
                RefusedPipeline(slug=slug, version=version, reason=why)
                for slug, version, why in made.registration.pipelines_refused
            ],
        )
