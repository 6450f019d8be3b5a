"""Bodies of events, their rules and their regroupings."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field

from trapline.domain.core.event_rules import DEFAULT_GAP_SECONDS, MAX_GAP_SECONDS, Grouping
from trapline.domain.ecology.events import Event, Regrouping, RegroupingStatus
from trapline.domain.ecology.tracking import MAX_BOXES
from trapline.protocol.base import NOT_TEXT
from trapline.schemas.common import Input, Instant, WallClock, with_offset
from trapline.schemas.images import ImageOut

#: A gap that starts a new event under the ``sequence`` rule.
GapSeconds = Annotated[int, Field(ge=1, le=MAX_GAP_SECONDS), NOT_TEXT]


class RuleIn(Input):
    """How a project's (or a deployment's) photos fall into events."""

    rule: Literal["night", "sequence"] = Field(
        description="night: noon to noon in local time; sequence: a new event after a gap "
        "longer than gap_seconds"
    )
    gap_seconds: GapSeconds = DEFAULT_GAP_SECONDS


class DeploymentRuleIn(Input):
    """A deployment's own rule; ``rule`` null: its project's."""

    rule: Literal["night", "sequence"] | None = Field(
        None, description="night, sequence, or null to follow the project's rule"
    )
    gap_seconds: GapSeconds = DEFAULT_GAP_SECONDS


class RegroupingOut(BaseModel):
    """Grouping events again after a rule changed, with its progress."""

    id: int
    project_id: int
    deployment_id: int | None = Field(
        description="the deployment regrouped; null: every deployment of the project"
    )
    status: RegroupingStatus
    deployments_total: int | None = Field(
        description="deployments to regroup (null until it starts)"
    )
    deployments_done: int
    deployments_failed: int = Field(
        description="deployments that could not be regrouped: each keeps its events, and "
        "``error`` names them with the reason (the regrouping goes on with the others and ends "
        "failed)"
    )
    error: str | None
    not_kept: list[str] = Field(
        description="what of the occurrences could not be kept as they were: a line for each "
        "occurrence it parted across events (kept where most of its detections are, the rest "
        "an occurrence of their own with its identifications), the first hundred"
    )
    created_at: Instant
    finished_at: Instant | None

    @classmethod
    def of(cls, r: Regrouping) -> RegroupingOut:
        return cls(
            id=r.id,
            project_id=r.project_id,
            deployment_id=r.deployment_id,
            status=r.status,
            deployments_total=r.deployments_total,
            deployments_done=r.deployments_done,
            deployments_failed=r.deployments_failed,
            error=r.error,
            not_kept=list(r.not_kept),
            created_at=r.created_at,
            finished_at=r.finished_at,
        )


class RuleOut(BaseModel):
    """A rule as set, and the regrouping that applies it."""

    rule: Literal["night", "sequence"] | None
    gap_seconds: int | None
    regrouping: RegroupingOut = Field(description="follow it at GET /event-regroupings/{id}")

    @classmethod
    def of(cls, grouping: Grouping | None, regrouping: Regrouping) -> RuleOut:
        return cls(
            rule=grouping.rule.value if grouping else None,
            gap_seconds=grouping.gap_seconds if grouping else None,
            regrouping=RegroupingOut.of(regrouping),
        )


class EventOut(BaseModel):
    """An event: a run of a deployment's photos (a night, or a sequence)."""

    id: int
    project_id: int
    deployment_id: int
    start: WallClock = Field(description="the first photo's capture time")
    end: WallClock = Field(description="the last photo's capture time")
    image_count: int
    first_image_id: int
    occurrences_pending: bool = Field(
        description="its results or reviews changed since its occurrences were last tracked: "
        "they (and the counts) are about to change"
    )
    untracked_boxes: int = Field(
        description="boxes its last tracking left out: a pipeline's boxes on a photo past the "
        f"first {MAX_BOXES:,} (stored and shown on the photo, in no occurrence and no count)"
    )
    tracking_error: str | None = Field(
        description="why its last tracking failed, while it has not been tracked since (its "
        "occurrences and counts are those of the tracking before); null: it did not"
    )
    tracking_retry_at: Instant | None = Field(
        description="when its tracking is tried again after one that failed (or whose server "
        "stopped in it); null: as soon as it is due"
    )

    @classmethod
    def of(cls, e: Event) -> EventOut:
        return cls(
            id=e.id,
            project_id=e.project_id,
            deployment_id=e.deployment_id,
            start=with_offset(e.starts_at, e.start_offset_minutes),
            end=with_offset(e.ends_at, e.end_offset_minutes),
            image_count=e.image_count,
            first_image_id=e.first_image_id,
            occurrences_pending=e.tracking_due,
            untracked_boxes=e.untracked_boxes,
            tracking_error=e.tracking_error,
            tracking_retry_at=e.tracking_retry_at,
        )


class EventWithImagesOut(EventOut):
    """An event with a page of its photos in time order."""

    images: list[ImageOut]
