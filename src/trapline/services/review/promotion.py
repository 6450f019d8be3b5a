"""Promoting a refit: a person makes a fitted refit a version of the project's model for its
features, and it runs over the current boxes of the pipeline whose features it reads.

A refit is never used by itself. Promoted, it is registered in its project as a pipeline of
the refits' own service (``REFIT_SERVICE``): slug ``<features slug>-refit``, one version per
promoted refit, one classification algorithm (``refit-<id>``) naming the taxa it learnt by
their scientific names. A job of that version over the features pipeline's boxes
(``params.boxes_from``, ``DispatchMode.INTERNAL``) is made at once; the platform runs it itself
(``background/refit_jobs.py``): each task's boxes come with their stored vectors (a refit on
crops describes them from the photo: decision 074, ``<slug>-crops-refit``), the head names
them, and the result is stored as any worker's. Its run counts only where a person chooses it,
as any pipeline's; people's identifications come first there too.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.pipelines.pipelines import REFIT_SERVICE, Pipeline
from trapline.domain.processing.jobs import DispatchMode, Job, JobParams, Lease
from trapline.domain.processing.results import SourceBox
from trapline.errors import Conflict, InvalidInput
from trapline.evaluation.classifiers import Classifier
from trapline.evaluation.fits import FitStatus
from trapline.evaluation.heads import Head
from trapline.protocol.pipelines import AlgorithmConfig, CategoryMap, PipelineConfig
from trapline.protocol.results import (
    AlgorithmReference,
    BoundingBox,
    ClassificationResponse,
    DetectionResponse,
    PipelineResultsResponse,
    SourceImageResponse,
)
from trapline.services.core.access import project_for, require, require_person
from trapline.services.processing.given_boxes import boxes_for
from trapline.services.processing.jobs import add_job
from trapline.services.review.crop_features import Photos, describe
from trapline.services.review.evaluation import parse_side

SYSTEM_CLOCK = SystemClock()


def algorithm_key(classifier_id: int) -> str:
    """The key of a promoted refit's one algorithm."""
    return f"refit-{classifier_id}"


def promote(db: Database, caller: User, classifier_id: int, *, clock: Clock = SYSTEM_CLOCK) -> Job:
    """Promote a fitted refit (members): register it as the next version of the project's
    ``<features slug>-refit`` pipeline and make the job that runs it over the features
    pipeline's current boxes (started by the caller's job starter)."""
    with db.write() as repos:
        found = require(repos.review.classifiers.get(classifier_id), "classifier", classifier_id)
        asked = ("classifier", classifier_id)
        project_for(repos, require_person(caller), found.project_id, Role.MEMBER, asked=asked)
        if found.status is not FitStatus.FITTED:
            raise InvalidInput(
                f"the refit is {found.status.value}: only a fitted refit can be promoted"
            )
        key = algorithm_key(found.id)
        made = repos.pipelines.pipelines.with_algorithm(found.project_id, key)
        if made is not None:
            raise Conflict(f"refit {found.id} is promoted already, as {made.slug} v{made.version}")
        stored = require(repos.review.classifiers.parameters(found.id), "classifier", found.id)
        head = Head.from_bytes(stored)
        taxa = repos.taxa.taxa.by_ids(head.labels.tolist())
        names = [taxa[t].scientific_name if t in taxa else f"taxon {t}" for t in head.labels]
        source, _ = parse_side(found.boxes_of, "features_from")
        model = f"{source}-crops-refit" if found.on_crops else f"{source}-refit"
        versions = [
            p.version for p in repos.pipelines.pipelines.facts(found.project_id).values()
            if p.slug == model
        ]  # fmt: skip
        config = _config(found, model, max(versions, default=0) + 1, names)
        repos.pipelines.pipelines.register(found.project_id, REFIT_SERVICE, [config], clock.now())
        return add_job(
            repos,
            project_id=found.project_id,
            pipeline_slug=model,
            pipeline_version=config.version,
            selection={},
            name=f"refit {found.name} over the boxes of {source}",
            start_now=True,
            params=JobParams(boxes_from=source),
            dispatch_mode=DispatchMode.INTERNAL,
            created_by=caller.id,
        )


def promoted_as(db: Database, caller: User, classifier_id: int) -> Pipeline | None:
    """The pipeline version a refit was promoted as (viewers), if it was."""
    with db.read() as repos:
        found = require(repos.review.classifiers.get(classifier_id), "classifier", classifier_id)
        asked = ("classifier", classifier_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return repos.pipelines.pipelines.with_algorithm(found.project_id, algorithm_key(found.id))


def _config(found: Classifier, slug: str, version: int, names: list[str]) -> PipelineConfig:
    read = (
        f"trapline's colour and shape descriptors of the crops of {found.boxes_of}'s boxes"
        if found.on_crops
        else f"the features of {found.features_from}"
    )
    return PipelineConfig(
        name=f"{found.name} (refit)",
        slug=slug,
        version=version,
        description=(
            f"Classifier head refitted from the project's identifications on {read} (refit "
            f"{found.id}, fitted on {found.identifications} identifications); run by the "
            f"platform over {found.boxes_of.partition('@')[0]}'s boxes."
        ),
        classifies_boxes=True,
        algorithms=[
            AlgorithmConfig(
                name=found.name,
                key=algorithm_key(found.id),
                task_type="classification",
                version=1,
                category_map=CategoryMap.of_labels(names),
            )
        ],
    )


def classified(
    db: Database, job: Job, pipeline: Pipeline, leases: Sequence[Lease], photos: Photos
) -> dict[Lease, PipelineResultsResponse]:
    """The result of each task of a promoted refit's job: each current box of its photo, as
    drawn, named by the refit from the vector stored with it, or for a refit on crops from
    the descriptor of its crop read from the photo (``photos``); a box without one of the
    length the refit reads (or whose photo cannot be read) keeps no classification."""
    (algorithm,) = pipeline.algorithms
    labels = list(algorithm.labels or ())
    reference = AlgorithmReference(name=algorithm.name, key=algorithm.key)
    given = boxes_for(db, {job.id: job}, leases)
    with db.read() as repos:
        classifier_id = int(algorithm.key.removeprefix("refit-"))
        found = require(repos.review.classifiers.get(classifier_id), "classifier", classifier_id)
        stored = require(
            repos.review.classifiers.parameters(classifier_id), "classifier", classifier_id
        )
        slug, _ = parse_side(found.boxes_of, "features_from")
        boxes = [b.annotation_id for found_boxes in given.values() for b in found_boxes]
        kept, matrix = ([], None) if found.on_crops else repos.review.refit_examples.box_vectors(
            boxes, slug, found.features_version or 0, found.features_length or 0
        )  # fmt: skip
    if matrix is None:  # decision 074: described from the photos now
        kept, matrix = describe(db, photos, boxes)
    shares = Head.from_bytes(stored).probabilities(matrix) if kept else np.zeros((0, 0))
    by_box = dict(zip(kept, shares, strict=True))
    now = datetime.now(UTC)
    return {
        lease: PipelineResultsResponse(
            pipeline=job.pipeline_slug,
            total_time=0.0,
            source_images=[SourceImageResponse(id=str(lease.image_id))],
            detections=[
                _detection(box, by_box.get(box.annotation_id), labels, reference, now)
                for box in given.get((job.id, lease.image_id), [])
            ],
        )
        for lease in leases
    }


def _detection(
    box: SourceBox,
    shares: np.ndarray | None,
    labels: list[str],
    reference: AlgorithmReference,
    now: datetime,
) -> DetectionResponse:
    b = box.box
    named = []
    if shares is not None:
        scores = [float(s) for s in shares]
        named.append(
            ClassificationResponse(
                classification=labels[int(np.argmax(shares))],
                labels=labels,
                scores=scores,
                algorithm=reference,
                terminal=True,
                timestamp=now,
            )
        )
    return DetectionResponse(
        source_image_id=str(box.image_id),
        bbox=BoundingBox(x1=b.x1, y1=b.y1, x2=b.x2, y2=b.y2),
        score=box.confidence,
        algorithm=AlgorithmReference(name=box.algorithm_name, key=box.algorithm_key),
        timestamp=now,
        classifications=named,
    )
