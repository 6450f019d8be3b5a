"""The pipelines the benchmark data set runs, registered as a worker registers them (a
detector, a binary moth classifier and a species classifier each), and which photos each runs
over."""

from __future__ import annotations

from typing import NamedTuple

from dataset_layout import Layout
from dataset_scene import BINARY, SPECIES, species_labels

from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig


class Run(NamedTuple):
    """A pipeline version as registered in a project, and the jobs that run it there."""

    project: int  #: index into ``PROJECTS``
    slug: str
    version: int
    detector: int  #: the detector's and the species classifier's versions
    species: int
    threshold: float | None
    #: The variant's box jitter (pixels) and species error rate.
    jitter: float
    wrong: float
    #: Runs over every ``every``-th deployment of the project (1: over all its photos, one job).
    every: int = 1


#: The pipeline runs, in order: the measured project's photos by ``ami-moths`` v1 and
#: ``ami-global`` v1, and every second deployment's by ``ami-moths`` v2 (so its current results
#: are a mix of versions); the other projects' by one pipeline each.
PIPELINES = (
    Run(0, "ami-moths", 1, 1, 1, 0.4, 6.0, 0.25),
    Run(0, "ami-global", 1, 1, 1, None, 10.0, 0.4),
    Run(0, "ami-moths", 2, 2, 2, 0.4, 3.0, 0.15, every=2),
    Run(1, "ami-moths", 1, 1, 1, 0.4, 6.0, 0.25),
    Run(2, "ami-global", 1, 1, 1, None, 10.0, 0.4),
)


def vectors_expected(plan: Layout) -> float:
    """About how many feature vectors the runs post when every insect's boxes carry one: one
    a moth's box (11 in 12 insects), a night's photos holding ``slots * occupancy`` each."""
    boxes = 0.0
    for run in PIPELINES:
        for station in plan.of_project(run.project)[:: run.every]:
            boxes += sum(n.photos * n.slots * n.occupancy for n in station.nights)
    return boxes * 11 / 12


def pipeline_config(run: Run) -> PipelineConfig:
    """The pipeline version as a worker registers it."""
    labels, slug = species_labels(), run.slug
    return PipelineConfig(
        name=f"AMI {slug.split('-')[1]} v{run.version}",
        slug=slug,
        version=run.version,
        default_threshold=run.threshold,
        algorithms=[
            AlgorithmConfig(name="Moth detector", key=f"{slug}-detector", task_type="detection",
                            version=run.detector),
            AlgorithmConfig(name="Moth / non-moth", key=f"{slug}-binary",
                            task_type="classification", category_map=CategoryMap.of_labels(BINARY)),
            AlgorithmConfig(
                name="Species classifier", key=f"{slug}-species", task_type="classification",
                version=run.species,
                category_map=CategoryMap.of_labels(labels, [{"taxon_rank": "SPECIES"}] * SPECIES),
            ),
        ],
    )  # fmt: skip
