"""Bodies of counting: which pipeline a project's counts are of."""

from __future__ import annotations

from pydantic import BaseModel, Field

from trapline.domain.ecology.choices import VersionShare
from trapline.schemas.common import Input
from trapline.schemas.projects import CountingPipeline
from trapline.services.ecology.counting import Counting


class PipelineCountOut(BaseModel):
    pipeline: str
    occurrences: int
    detections: int


class DeploymentCountingOut(BaseModel):
    """What one deployment counts by."""

    deployment_id: int
    name: str
    pipeline: str | None = Field(
        description="the pipeline its counts are of (null: nothing tracked on it yet)"
    )
    chosen: str | None = Field(
        description="who chose it: results (the first tracked on it), project (a person, for "
        "the project) or person (a person, for this deployment); nothing else changes it"
    )
    pipelines: list[PipelineCountOut] = Field(
        description="each pipeline tracked on it, most detections first"
    )
    not_carried: list[str] = Field(
        description="people's work the last change of its pipeline could not carry to the "
        "new pipeline's individuals, a line each"
    )


class VersionPhotosOut(BaseModel):
    version: int
    photos: int = Field(description="photos whose current result is of this version")


class VersionShareOut(BaseModel):
    """Which versions of the pipeline a deployment counts by its photos' results are of."""

    pipeline: str | None = Field(description="the pipeline it counts by (null: none yet)")
    versions: list[VersionPhotosOut] = Field(
        description="newest first; empty for a pipeline no registration numbers (callback)"
    )
    photos: int = Field(description="the deployment's photos")
    without: int = Field(description="photos with no result of the pipeline")
    mixed: bool = Field(description="the counts mix versions")
    said: str = Field(description='in words: "version 2 on 5 of 20 photos, version 1 on 15"')

    @classmethod
    def of(cls, share: VersionShare) -> VersionShareOut:
        return cls(
            pipeline=share.pipeline,
            versions=[VersionPhotosOut(version=v, photos=n) for v, n in share.versions],
            photos=share.photos,
            without=share.without,
            mixed=share.mixed,
            said=share.said(),
        )


class CountingIn(Input):
    """The pipeline a deployment counts by."""

    pipeline: CountingPipeline


class CountingOut(BaseModel):
    """What a project's counts are of."""

    pipeline: str | None = Field(
        description="the pipeline every deployment counts by now (null: nothing tracked, or "
        "the deployments count by different pipelines: mixed)"
    )
    mixed: bool = Field(description="the deployments count by different pipelines")
    named: str | None = Field(
        description="the pipeline a person chose for the project (PATCH /projects/{id} "
        "counting_pipeline); null: none chosen"
    )
    pipelines: list[PipelineCountOut] = Field(
        description="each pipeline with tracked occurrences, most detections first: counts "
        "are never added up across them"
    )
    choices: list[str] = Field(description="the pipelines the project can count by")
    deployments: list[DeploymentCountingOut] = Field(
        description="what each deployment counts by (the first 1,000)"
    )

    @classmethod
    def of(cls, found: Counting) -> CountingOut:
        return cls(
            pipeline=found.pipeline,
            mixed=found.mixed,
            named=found.named,
            pipelines=[
                PipelineCountOut(pipeline=p, occurrences=n, detections=d)
                for p, n, d in found.counted
            ],
            choices=found.choices,
            deployments=[
                DeploymentCountingOut(
                    deployment_id=d.deployment_id,
                    name=d.name,
                    pipeline=d.pipeline,
                    chosen=d.chosen.value if d.chosen else None,
                    pipelines=[
                        PipelineCountOut(pipeline=p, occurrences=n, detections=m)
                        for p, n, m in d.tracked
                    ],
                    not_carried=list(d.not_carried),
                )
                for d in found.deployments
            ],
        )
