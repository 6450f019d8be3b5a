"""Promoting a detection scorer: a person makes a fitted scorer a version of the project's
``moth-blobs-scorer`` pipeline, and it runs over the project's photos.

A scorer is never used by itself. Promoted, it is registered in its project under the refits'
service (``REFIT_SERVICE``): slug ``moth-blobs-scorer``, one version per promoted scorer,
``moth-blobs``' detector and a classifier ``blob-scorer-<id>`` whose insect score has the
scorer's weights. A job of that version over the project's photos (``DispatchMode.INTERNAL``)
is made at once; the platform runs it itself (``background/refit_jobs.py``): each photo is read
from storage and run through ``moth-blobs`` with those weights, and the result is stored as any
worker's. Its run counts only where a person chooses it, as any pipeline's.
"""

from __future__ import annotations

from collections.abc import Sequence

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.pipelines.pipelines import REFIT_SERVICE, Pipeline
from trapline.domain.processing.jobs import DispatchMode, Job, JobParams, Lease
from trapline.errors import Conflict, InvalidInput, TraplineError
from trapline.evaluation.blob_scorer import ScorerWeights
from trapline.evaluation.detection_scorers import DetectionScorer
from trapline.evaluation.fits import FitStatus
from trapline.pipelines.moth_blobs import MothBlobsPipeline
from trapline.protocol.pipelines import PipelineConfig
from trapline.protocol.results import AlgorithmReference, PipelineResultsResponse, ResultError
from trapline.services.core.access import project_for, require, require_person
from trapline.services.processing.jobs import add_job
from trapline.services.review.crop_features import Photos
from trapline.services.review.detection_scorers import decoded

SYSTEM_CLOCK = SystemClock()
#: The pipeline promoted scorers are versions of, in each project.
SCORER_SLUG = "moth-blobs-scorer"
#: What the key of a promoted scorer's classifier starts with.
KEY_PREFIX = "blob-scorer-"


def algorithm_key(scorer_id: int) -> str:
    """The key of a promoted scorer's classifier."""
    return f"{KEY_PREFIX}{scorer_id}"


def is_scorer(pipeline: Pipeline) -> bool:
    """Whether a pipeline version is a promoted scorer."""
    return any(a.key.startswith(KEY_PREFIX) for a in pipeline.algorithms)


def promote(db: Database, caller: User, scorer_id: int, *, clock: Clock = SYSTEM_CLOCK) -> Job:
    """Promote a fitted scorer (members): register it as the next version of the project's
    ``moth-blobs-scorer`` pipeline and make the job that runs it over the project's photos
    (started by the caller's job starter)."""
    with db.write() as repos:
        found = require(
            repos.review.detection_scorers.get(scorer_id), "detection scorer", scorer_id
        )
        asked = ("detection scorer", scorer_id)
        project_for(repos, require_person(caller), found.project_id, Role.MEMBER, asked=asked)
        if found.status is not FitStatus.FITTED or found.weights is None:
            raise InvalidInput(
                f"the scorer is {found.status.value}: only a fitted scorer can be promoted"
            )
        made = repos.pipelines.pipelines.with_algorithm(found.project_id, algorithm_key(found.id))
        if made is not None:
            raise Conflict(f"scorer {found.id} is promoted already, as {made.slug} v{made.version}")
        versions = repos.pipelines.pipelines.versions(found.project_id, SCORER_SLUG)
        config = scorer_config(found, max(versions, default=0) + 1)
        repos.pipelines.pipelines.register(found.project_id, REFIT_SERVICE, [config], clock.now())
        return add_scorer_job(repos, found, config.version, caller.id)


def add_scorer_job(repos: Repos, found: DetectionScorer, version: int, user_id: int) -> Job:
    """The job of a promoted scorer's version over every photo of its project."""
    return add_job(
        repos,
        project_id=found.project_id,
        pipeline_slug=SCORER_SLUG,
        pipeline_version=version,
        selection={},
        name=f"detection scorer {found.name} over the project's photos",
        start_now=True,
        params=JobParams(),
        dispatch_mode=DispatchMode.INTERNAL,
        created_by=user_id,
    )


def promoted_as(db: Database, caller: User, scorer_id: int) -> Pipeline | None:
    """The pipeline version a scorer was promoted as (viewers), if it was."""
    with db.read() as repos:
        found = require(
            repos.review.detection_scorers.get(scorer_id), "detection scorer", scorer_id
        )
        asked = ("detection scorer", scorer_id)
        project_for(repos, caller, found.project_id, Role.VIEWER, asked=asked)
        return repos.pipelines.pipelines.with_algorithm(found.project_id, algorithm_key(found.id))


def scorer_pipeline(found: DetectionScorer) -> MothBlobsPipeline:
    """``moth-blobs`` with a scorer's weights, its classifier named by the scorer."""
    assert found.weights is not None
    pipeline = MothBlobsPipeline(ScorerWeights.of(found.weights).settings())
    pipeline.slug = SCORER_SLUG
    pipeline.classifier = AlgorithmReference(name=found.name, key=algorithm_key(found.id))
    return pipeline


def scorer_config(found: DetectionScorer, version: int) -> PipelineConfig:
    """The registration of a promoted scorer as ``moth-blobs-scorer`` v``version``."""
    base = scorer_pipeline(found).config
    detector, classifier = base.algorithms
    weights = ", ".join(f"{k} {v:g}" for k, v in (found.weights or {}).items())
    return base.model_copy(
        update={
            "name": f"Moth blobs, scored by {found.name}",
            "slug": SCORER_SLUG,
            "version": version,
            "description": (
                f"moth-blobs with the insect score refitted from the project's box reviews "
                f"(detection scorer {found.id}, {found.insects} insect blobs and {found.others} "
                f"others on {found.photos} photos; weights: {weights}); run by the platform."
            ),
            "algorithms": [
                detector,
                classifier.model_copy(
                    update={
                        "name": found.name,
                        "key": algorithm_key(found.id),
                        "version": 1,
                        "description": f"moth-blobs' blob classes, insect score weights {weights}",
                    }
                ),
            ],
        }
    )


def detected(
    db: Database,
    photos: Photos,
    job: Job,
    pipeline: Pipeline,
    leases: Sequence[Lease],
) -> dict[Lease, PipelineResultsResponse | ResultError]:
    """The result of each task of a promoted scorer's job: its photo read from ``photos`` and
    run through ``moth-blobs`` with the scorer's weights (an unreadable photo fails its task)."""
    key = next(a.key for a in pipeline.algorithms if a.key.startswith(KEY_PREFIX))
    scorer_id = int(key.removeprefix(KEY_PREFIX))
    with db.read() as repos:
        found = require(
            repos.review.detection_scorers.get(scorer_id), "detection scorer", scorer_id
        )
        keys = repos.review.detection_scorers.photo_files([le.image_id for le in leases])
    blobs = scorer_pipeline(found)
    done: dict[Lease, PipelineResultsResponse | ResultError] = {}
    for lease in leases:
        try:
            image = decoded(photos.store, photos.limits, lease.image_id, keys[lease.image_id])
            (done[lease],) = blobs.process([image])
        except (TraplineError, OSError, KeyError) as exc:
            why = f"the photo could not be read: {type(exc).__name__}: {exc}"
            done[lease] = ResultError(error=why, image_id=str(lease.image_id))
    return done
