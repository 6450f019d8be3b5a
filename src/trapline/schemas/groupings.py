"""Request and response bodies of groupings of unidentified individuals."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import BaseModel, Field, StringConstraints

from trapline.db.repositories.review.groupings import Member
from trapline.evaluation.groupings import Grouping
from trapline.protocol.base import ONE_LINE
from trapline.schemas.classifiers import FeaturesFrom
from trapline.schemas.common import BodyId, Day, Input, Instant

#: A grouping's name: optional (what it reads and its scope when none).
OptionalName = Annotated[str, StringConstraints(max_length=200, pattern=ONE_LINE)]


class GroupingIn(Input):
    name: OptionalName = Field("", description="a name (none: what it reads and its scope)")
    features_from: FeaturesFrom = Field(
        description="the pipeline whose feature vectors the grouping reads: its slug, or "
        "slug@N for one version of it"
    )
    deployment_id: BodyId | None = Field(None, description="this deployment's individuals only")
    since: Day | None = Field(None, description="individuals first seen on this night or later")
    until: Day | None = Field(None, description="individuals first seen on this night or before")


class GroupingCreated(BaseModel):
    id: int
    status: str


class MemberOut(BaseModel):
    occurrence_id: int
    similarity: float = Field(description="cosine similarity to the group's centre (1: alike)")
    best_annotation_id: int = Field(description="the detection whose crop shows it best")

    @classmethod
    def of(cls, found: Member) -> MemberOut:
        return cls(
            occurrence_id=found.occurrence_id,
            similarity=found.similarity,
            best_annotation_id=found.best_annotation_id,
        )


class GroupOut(BaseModel):
    number: int = Field(description="1: the tightest group")
    size: int = Field(description="individuals in the group when it was made")
    tightness: float = Field(
        description="the mean cosine similarity of its members to its centre: 1 all alike, "
        "0 no more alike than any two individuals of the scope"
    )
    unidentified: int = Field(description="of its individuals, those nobody identified since")
    sample: list[MemberOut] = Field(description="its members most alike its centre, at most 24")


class GroupingOut(BaseModel):
    id: int
    project_id: int
    name: str
    status: str = Field(description="queued, running, done or failed")
    error: str | None = Field(description="why it failed")
    stage: str | None = Field(description="while it runs: what it is doing")
    progress: float | None = Field(description="the share done, 0 to 1 (1 once done)")
    features_from: str
    features_version: int | None = Field(description="the version whose vectors it read")
    features_length: int | None = Field(description="numbers a vector")
    deployment_id: int | None
    since: date | None
    until: date | None
    individuals: int | None = Field(description="unidentified individuals grouped")
    dimensions: int | None = Field(description="the dimensions the vectors were reduced to")
    ungrouped: int | None = Field(description="individuals like no group enough to join one")
    silhouette: float | None = Field(
        description="how well apart the groups are (-1 to 1), on the sample they were found in"
    )
    groups: list[GroupOut]
    ungrouped_sample: list[MemberOut] = Field(
        description="individuals left ungrouped, at most 24 (identify them one by one)"
    )
    created_by: str | None
    created_at: Instant
    finished_at: Instant | None

    @classmethod
    def of(
        cls,
        found: Grouping,
        left: dict[int, int] | None = None,
        samples: dict[int, list[Member]] | None = None,
    ) -> GroupingOut:
        left, samples = left or {}, samples or {}
        return cls(
            id=found.id, project_id=found.project_id, name=found.name,
            status=found.status.value, error=found.error, stage=found.stage,
            progress=found.progress, features_from=found.features_from,
            features_version=found.features_version, features_length=found.features_length,
            deployment_id=found.deployment_id, since=found.since, until=found.until,
            individuals=found.individuals, dimensions=found.dimensions,
            ungrouped=found.ungrouped,
            silhouette=max((s for _, s in found.tried), default=None),
            groups=[
                GroupOut(
                    number=g.number, size=g.size, tightness=g.tightness,
                    unidentified=left.get(g.number, 0),
                    sample=[MemberOut.of(m) for m in samples.get(g.number, [])],
                )
                for g in found.groups
            ],
            ungrouped_sample=[MemberOut.of(m) for m in samples.get(0, [])],
            created_by=found.created_by, created_at=found.created_at,
            finished_at=found.finished_at,
        )  # fmt: skip


class GroupNameIn(Input):
    taxon_id: BodyId = Field(description="a taxon of the project's list")
    comment: str = Field("", max_length=2000, description="kept with each identification")


class GroupNamed(BaseModel):
    grouping_id: int
    group: int
    taxon_id: int
    identified: int = Field(description="individuals identified (those still unidentified)")
