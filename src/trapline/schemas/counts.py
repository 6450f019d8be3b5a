"""Bodies of counting: which pipeline a project's counts are of."""

from __future__ import annotations

from pydantic import BaseModel, Field

from trapline.services.ecology.counting import Counting


class PipelineCountOut(BaseModel):
    pipeline: str
    occurrences: int
    detections: int


class CountingOut(BaseModel):
    """What a project's counts are of."""

    pipeline: str | None = Field(
        description="the pipeline every count of the project is of now (null: nothing tracked)"
    )
    named: str | None = Field(
        description="the pipeline the project names (PATCH /projects/{id} counting_pipeline); "
        "null: the one with the most tracked detections"
    )
    pipelines: list[PipelineCountOut] = Field(
        description="each pipeline with tracked occurrences, most detections first: counts "
        "are never added up across them"
    )
    choices: list[str] = Field(description="the pipelines the project can count by")

    @classmethod
    def of(cls, found: Counting) -> CountingOut:
        return cls(
            pipeline=found.pipeline,
            named=found.named,
            pipelines=[
                PipelineCountOut(pipeline=p, occurrences=n, detections=d)
                for p, n, d in found.counted
            ],
            choices=found.choices,
        )
