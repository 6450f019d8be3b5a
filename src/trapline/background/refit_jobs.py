"""The platform's own worker for promoted refits and detection scorers (``DispatchMode.INTERNAL``
jobs).

A promoted refit names each box from the vector stored with it (a refit on crops, from the
descriptor of its crop, read from the photo: decision 074). A promoted detection scorer reads
each photo from storage and runs ``moth-blobs`` on it with its weights. The ``refit-jobs`` duty
claims tasks of such running jobs from the task queue, under the same leases pull workers
hold, works their results out (``services/review/promotion.classified``,
``services/review/scorer_promotion.detected``) and stores them through ``ResultStore.store``,
the path every result takes: counters, duplicates, retries and dead-lettering behave as for
any job. A batch that cannot be worked
out fails its tasks with the reason (shown on the job's page, tried again after the queue's
backoff), and the other jobs go on.
"""

from __future__ import annotations

import logging

from trapline.db.engine import Database
from trapline.domain.pipelines.pipelines import REFIT_SERVICE
from trapline.domain.processing.jobs import DispatchMode, JobStatus, Lease
from trapline.domain.processing.lease_tokens import LeaseClaim
from trapline.errors import failure_text
from trapline.protocol.results import ResultError
from trapline.queue.base import TaskQueue
from trapline.services.core.access import require
from trapline.services.processing.push import PLATFORM, Outcome
from trapline.services.processing.result_items import Posted
from trapline.services.processing.results import ResultStore
from trapline.services.review.crop_features import Photos
from trapline.services.review.promotion import classified
from trapline.services.review.scorer_promotion import detected, is_scorer

log = logging.getLogger(__name__)

#: Seconds between runs of the duty.
DUTY_INTERVAL = 1.0
#: Tasks one job hands the duty at a time (each a photo's boxes; a refit on crops decodes the
#: 200 photos, under a tenth of a second each: well within a lease).
BATCH = 200
#: Tasks a detection scorer's job hands the duty at a time (each a photo read and scanned).
SCORER_BATCH = 4
#: Running refit jobs looked at in one run.
MAX_JOBS = 100


def run_refit_jobs(db: Database, queue: TaskQueue, results: ResultStore, photos: Photos) -> int:
    """One run of the duty: a batch of each running refit job classified and stored (a refit
    on crops reads its boxes' photos through ``photos``); returns how many tasks were."""
    with db.read() as repos:
        _, jobs = repos.processing.jobs.page(
            project_ids=None,
            statuses=[JobStatus.RUNNING],
            dispatch_mode=DispatchMode.INTERNAL,
            limit=MAX_JOBS,
            offset=0,
        )
    done = 0
    for job in jobs:
        with db.read() as repos:
            pipeline = require(
                repos.pipelines.pipelines.get_cached(job.pipeline_id), "pipeline", job.id
            )
        scorer = is_scorer(pipeline)
        batch = SCORER_BATCH if scorer else BATCH
        leases = queue.claim({job.id: job.params.lease_seconds}, batch, REFIT_SERVICE)
        if not leases:
            continue
        found: dict[Lease, Outcome]
        try:
            if scorer:
                found = dict(detected(db, photos, job, pipeline, leases))
            else:
                found = dict(classified(db, job, pipeline, leases, photos))
        except Exception as exc:  # one job's failure must not hold up the others
            log.exception("refit job %s: a batch could not be worked out", job.id)
            what = "find the insects on this photo" if scorer else "name this photo's boxes"
            why = f"the refit could not {what}: {failure_text(exc)}"
            found = {le: ResultError(error=why, image_id=str(le.image_id)) for le in leases}
        _, project = results.access.worker_job(PLATFORM, job.id)
        posted = [
            Posted(None, LeaseClaim(le.job_id, le.task_id, le.attempt, le.lease_id), result)
            for le, result in found.items()
        ]
        results.store(job, project, REFIT_SERVICE, posted)
        done += len(leases)
    if done:
        log.debug("refit jobs: %d tasks classified", done)
    return done
