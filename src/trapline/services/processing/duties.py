"""What the periodic duties do; ``background/duties.py`` runs them, each on one replica."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.domain.core.duties import NEVER, Stop
from trapline.queue.base import TaskQueue
from trapline.services.pipelines.service_client import ServiceClient
from trapline.services.pipelines.service_status import check_services
from trapline.services.processing.jobs import finish_if_done

log = logging.getLogger(__name__)

#: Jobs left in created/queued this long (a server died mid-enqueue) are started again.
STUCK_JOB_AGE = timedelta(seconds=30)


def reap_expired_leases(db: Database, queue: TaskQueue, stop: Stop = NEVER) -> None:
    """Requeue tasks whose lease ran out (dead-letter those out of tries); end finished jobs
    (until ``stop`` is set)."""
    requeued, dead, jobs = queue.reap()
    if requeued or dead:
        log.info("lease reaper: %d tasks requeued, %d dead-lettered", requeued, dead)
    with db.read() as repos:
        # A safety net: a job whose last task settled without ending it is ended here.
        jobs |= set(repos.processing.jobs.running_without_open_tasks())
    for job_id in jobs:
        if stop.is_set():
            return
        with db.write() as repos:
            finished = finish_if_done(repos, job_id)
        if finished:
            queue.finished(job_id)


def restart_stuck_jobs(
    db: Database, start: Callable[[int], object], clock: Clock, stop: Stop = NEVER
) -> None:
    """Start again (``start``: ``JobStarter.submit``) jobs a crashed server left half-started
    (until ``stop`` is set)."""
    with db.read() as repos:
        stuck = repos.processing.jobs.pending_dispatch(clock.now() - STUCK_JOB_AGE)
    for job_id in stuck:
        if stop.is_set():
            return
        log.info("restarting job %s left half-started", job_id)
        start(job_id)


def check_push_services(db: Database, client: ServiceClient, clock: Clock) -> None:
    """Call every push-mode service's ``/readyz`` and record whether it is online."""
    checked = check_services(db, client, clock)
    log.debug("status checks: %d push-mode services", checked)
