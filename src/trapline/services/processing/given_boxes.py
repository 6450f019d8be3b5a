"""A job over another pipeline's boxes (``params.boxes_from``): the boxes its tasks carry.

When a task is handed out (to a pull worker, or in a ``/process`` call) the current boxes of
the source pipeline on its photo are read and sent as Antenna's ``DetectionRequest``s; the
job's pipeline classifies them instead of detecting. Its results name the algorithm that drew
each box, which ``with_source_algorithms`` lets the job's results use.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import replace

from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.pipelines.pipelines import Pipeline
from trapline.domain.processing.jobs import Job, Lease
from trapline.domain.processing.results import SourceBox
from trapline.protocol.results import AlgorithmReference, BoundingBox
from trapline.protocol.service import DetectionRequest, SourceImageRequest

#: Boxes of each (job, image) handed out.
GivenBoxes = dict[tuple[int, int], list[SourceBox]]


def boxes_for(db: Database, jobs: Mapping[int, Job], leases: Iterable[Lease]) -> GivenBoxes:
    """The current boxes of its job's source pipeline for each lease of a job over another
    pipeline's boxes (an empty list for a photo that has none now); other leases are left
    out."""
    wanted: dict[int, set[int]] = {}
    for lease in leases:
        if jobs[lease.job_id].params.boxes_from is not None:
            wanted.setdefault(lease.job_id, set()).add(lease.image_id)
    if not wanted:
        return {}
    given: GivenBoxes = {}
    with db.read() as repos:
        for job_id, image_ids in wanted.items():
            job = jobs[job_id]
            source = job.params.boxes_from
            assert source is not None
            found = repos.processing.given_boxes.current(job.project_id, source, image_ids)
            for image_id in image_ids:
                given[(job_id, image_id)] = found.get(image_id, [])
    return given


def wire_boxes(boxes: Sequence[SourceBox], image: SourceImageRequest) -> list[DetectionRequest]:
    """``boxes`` of ``image`` as a task or ``/process`` request gives them."""
    return [
        DetectionRequest(
            source_image=image,
            bbox=BoundingBox(x1=b.box.x1, y1=b.box.y1, x2=b.box.x2, y2=b.box.y2),
            algorithm=AlgorithmReference(name=b.algorithm_name, key=b.algorithm_key),
            score=b.confidence,
        )
        for b in boxes
    ]


def with_source_algorithms(repos: Repos, job: Job, pipeline: Pipeline) -> Pipeline:
    """The job's pipeline as its results are checked against: for a job over another
    pipeline's boxes, the algorithms that drew those boxes are known too."""
    source = job.params.boxes_from
    if source is None:
        return pipeline
    drew = repos.pipelines.pipelines.algorithms_of(job.project_id, source)
    own = {a.key for a in pipeline.algorithms}
    known = (*pipeline.algorithms, *(a for a in drew if a.key not in own))
    return replace(pipeline, algorithms=known)
