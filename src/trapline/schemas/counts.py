"""Bodies of counting: which pipeline a project's counts are of."""

from __future__ import annotations

from pydantic import BaseModel, Field

from trapline.domain.ecology.choices import VersionShare
from trapline.domain.ecology.compare import Boxed
from trapline.schemas.common import Input
from trapline.schemas.projects import CountingPipeline
from trapline.services.ecology.compare import Compared
from trapline.services.ecology.counting import Counting


class PipelineCountOut(BaseModel):
    pipeline: str
    occurrences: int
    detections: int


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
    versions: VersionShareOut | None = Field(
        description="which versions of its pipeline its photos' results are of"
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
    mixed_versions: list[str] = Field(
        description="the deployments whose counts mix versions of their pipeline, a line each"
    )

    @classmethod
    def of(cls, found: Counting) -> CountingOut:
        return cls(
            pipeline=found.pipeline,
            mixed=found.mixed,
            mixed_versions=list(found.mixed_versions),
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
                    versions=VersionShareOut.of(s)
                    if (s := found.shares.get(d.deployment_id))
                    else None,
                )
                for d in found.deployments
            ],
        )


class BoxOut(BaseModel):
    annotation_id: int
    image_id: int
    box: list[float] = Field(description="x1, y1, x2, y2 in pixels")
    label: str | None = Field(description="what names it, as counting names it")
    score: float | None


class PairOut(BaseModel):
    a: BoxOut | None
    b: BoxOut | None


class LabelCountOut(BaseModel):
    label: str | None
    count: int


class CompareOut(BaseModel):
    """Two pipelines (or versions) on a deployment's photos that both ran on."""

    deployment_id: int
    a: str
    b: str
    photos: int = Field(description="photos both ran on that were compared")
    capped: bool = Field(description="more photos than 5,000 both ran on: the first were compared")
    only_a: int
    only_b: int
    same: int = Field(description="boxes both drew (IoU >= 0.75 of each other) and name alike")
    moved: int = Field(description="boxes both drew (IoU 0.5-0.75) and name alike")
    relabelled: int = Field(description="boxes both drew (IoU >= 0.5) and name otherwise")
    examples: dict[str, list[PairOut]] = Field(description="up to 24 of each kind")
    boxes_a: list[LabelCountOut] = Field(description="A's boxes by label on those photos")
    boxes_b: list[LabelCountOut]
    individuals_a: list[LabelCountOut] | None = Field(
        description="A's occurrences by label on the deployment (null: a version is named; "
        "occurrences are tracked from current results only)"
    )
    individuals_b: list[LabelCountOut] | None

    @classmethod
    def of(cls, found: Compared) -> CompareOut:
        c = found.comparison

        def box(x: Boxed | None) -> BoxOut | None:
            if x is None:
                return None
            return BoxOut(annotation_id=x.id, image_id=x.image_id, box=list(x.box),
                          label=x.label, score=x.score)  # fmt: skip

        def counted(rows: list[tuple[str | None, int]] | None) -> list[LabelCountOut] | None:
            return None if rows is None else [LabelCountOut(label=k, count=n) for k, n in rows]

        return cls(
            deployment_id=found.deployment.id,
            a=found.a.name,
            b=found.b.name,
            photos=c.photos,
            capped=found.capped,
            only_a=c.only_a,
            only_b=c.only_b,
            same=c.same,
            moved=c.moved,
            relabelled=c.relabelled,
            examples={
                kind: [PairOut(a=box(x), b=box(y)) for x, y in pairs]
                for kind, pairs in c.examples.items()
            },
            boxes_a=[LabelCountOut(label=k, count=n) for k, n in c.labels_a.most_common()],
            boxes_b=[LabelCountOut(label=k, count=n) for k, n in c.labels_b.most_common()],
            individuals_a=counted(found.individuals_a),
            individuals_b=counted(found.individuals_b),
        )
