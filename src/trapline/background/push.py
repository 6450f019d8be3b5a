"""The push dispatcher: tasks of push-mode (``sync_api``) jobs sent to processing services.

A duty run fills free slots: it claims batches of running push-mode jobs (one batch per job per
round, so big jobs share) and hands each to a runner of ``push_concurrency`` threads that calls the
service and stores the answer (``services/processing/push.py``). A call that fails (after its own
retries of connection errors and 5xx answers) fails its tasks like a worker's error result: they are
retried with backoff, then dead-lettered. A service that could not be reached counts as offline
until its next good status check; tasks of a job with no online service wait in the queue.
"""

from __future__ import annotations

import logging
import math
import threading
from collections.abc import Hashable

from trapline.background.runner import Runner
from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.domain.pipelines.pipelines import ServiceStatus
from trapline.domain.processing.jobs import DispatchMode, Job, JobStatus
from trapline.errors import failure_text
from trapline.queue.base import TaskQueue
from trapline.services.pipelines.service_client import PROCESS_RETRY, ServiceClient, ServiceError
from trapline.services.pipelines.service_status import online_window, record_check
from trapline.services.processing.given_boxes import boxes_for
from trapline.services.processing.push import (
    Batch,
    failed_outcomes,
    request_for,
    split_answer,
    store_outcomes,
)
from trapline.services.processing.results import ResultStore
from trapline.settings import PushSettings
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Seconds between dispatcher runs; a run only fills free slots and never waits for a call.
DISPATCH_INTERVAL = 1.0
#: Seconds a push task's lease lasts beyond the longest its call (with retries) may take.
LEASE_MARGIN = 60.0
#: Most running push-mode jobs looked at per run.
MAX_JOBS = 1000
#: Seconds a stopping server waits for calls in flight (their leases expire otherwise).
CLOSE_WAIT = 5.0


def _batch_key(batch: Batch) -> Hashable:
    first = batch.leases[0]
    return (batch.job.id, first.task_id, first.attempt)


class PushDispatcher:
    """Claims tasks of running push-mode jobs and calls services, ``push_concurrency`` at once."""

    def __init__(
        self,
        db: Database,
        queue: TaskQueue,
        store: BlobStore,
        client: ServiceClient,
        results: ResultStore,
        *,
        settings: PushSettings,
        url_ttl: int,
        base_url: str,
        clock: Clock | None = None,
    ) -> None:
        self.db, self.queue, self.store, self.client = db, queue, store, client
        self.results = results
        self.clock = clock or SystemClock()
        self.batch_size = settings.batch_size
        self.slots = settings.concurrency
        self.url_ttl = url_ttl
        self.window = online_window(settings.status_interval)
        self.base_url = base_url
        self.retry = PROCESS_RETRY
        self._lock = threading.Lock()
        self._filling = threading.Lock()
        self._busy: dict[int, int] = {}
        self._calls: Runner[Batch] = Runner(
            self._call, workers=self.slots, name="push", key=_batch_key
        )
        self._active_until = 0.0
        self._waiting: set[int] = set()
        self._announced: set[tuple[int, int]] = set()

    @property
    def in_flight(self) -> int:
        """Batches claimed and not yet stored."""
        with self._lock:
            return sum(self._busy.values())

    @property
    def _closing(self) -> threading.Event:
        return self._calls.closing

    def run(self) -> int:
        """The duty: fill free slots with batches of running push-mode jobs; returns how many."""
        # A finished batch may start the next at once, but only while this replica runs the duty.
        self._active_until = self.clock.monotonic() + 3 * DISPATCH_INTERVAL
        return self._fill()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the calls in flight have ended; False when ``timeout`` seconds passed
        first."""
        return self._calls.wait_idle(timeout)

    def close(self, timeout: float = CLOSE_WAIT) -> None:
        """Stop claiming; wait a little for calls in flight (their leases expire otherwise);
        batches not sent yet are dropped, and their leases run out."""
        self._calls.close(timeout)

    # -- claiming --

    def _fill(self) -> int:
        if self._closing.is_set():
            return 0
        with self._filling:  # slots are counted, then claimed: one filler at a time
            free = self.slots - self.in_flight
            if free <= 0:
                return 0
            now = self.clock.now()
            with self.db.read() as repos:
                _, jobs = repos.processing.jobs.page(
                    project_ids=None,
                    statuses=[JobStatus.RUNNING],
                    dispatch_mode=DispatchMode.SYNC_API,
                    limit=MAX_JOBS,
                    offset=0,
                )
                targets = {
                    job.id: repos.pipelines.pipelines.push_services_for(
                        job.project_id, job.pipeline_id, now, self.window
                    )
                    for job in jobs
                }
            self._note_waiting(jobs, targets)
            running = {job.id for job in jobs}
            self._announced = {key for key in self._announced if key[0] in running}
            sent = 0
            open_jobs = [job for job in reversed(jobs) if targets[job.id]]  # oldest first
            while free > 0 and open_jobs:
                for job in list(open_jobs):  # one batch per job per round: big jobs share
                    batch = self._claim(job, targets[job.id]) if free > 0 else None
                    if batch is None:
                        open_jobs.remove(job)
                        continue
                    self._submit(batch)
                    free -= 1
                    sent += 1
            return sent

    def _claim(self, job: Job, services: list[ServiceStatus]) -> Batch | None:
        with self._lock:
            service = min(services, key=lambda s: (self._busy.get(s.id, 0), s.id))
        leases = self.queue.claim(
            {job.id: self._lease_seconds(job)}, self.batch_size, f"push:{service.name}"
        )
        return Batch(job, service, leases) if leases else None

    def _lease_seconds(self, job: Job) -> int:
        retry = self.retry
        pauses = sum(retry.delay(n).total_seconds() for n in range(1, retry.max_attempts))
        budget = self.client.process_timeout * retry.max_attempts + pauses + LEASE_MARGIN
        return max(job.params.lease_seconds, math.ceil(budget))

    def _submit(self, batch: Batch) -> None:
        with self._lock:
            if self._closing.is_set():  # shutting down: the leases run out, the tasks go back
                return
            self._busy[batch.service.id] = self._busy.get(batch.service.id, 0) + 1
        if not self._calls.submit(batch):
            with self._lock:
                self._busy[batch.service.id] -= 1

    def _note_waiting(self, jobs: list[Job], targets: dict[int, list[ServiceStatus]]) -> None:
        """Tell each job once when it starts waiting for an online service."""
        waiting = {job.id for job in jobs if not targets[job.id]}
        new = [job for job in jobs if job.id in waiting - self._waiting]
        self._waiting = waiting
        if not new:
            return
        with self.db.write() as repos:
            for job in new:
                repos.processing.jobs.add_event(
                    job.id,
                    None,
                    f"waiting for an online push-mode processing service offering pipeline "
                    f"{job.pipeline_slug!r} version {job.pipeline_version}; register one with POST "
                    f"/api/v2/projects/{job.project_id}/processing-services/",
                )

    # -- calling --

    def _call(self, batch: Batch) -> None:
        """One batch on a runner thread; then more batches while this replica has the duty."""
        try:
            self._send(batch)
        except Exception as exc:
            if not self._closing.is_set():
                log.exception("push batch of job %s failed", batch.job.id)
                self._fail(batch, exc)
        finally:
            with self._lock:
                self._busy[batch.service.id] -= 1
        if self.clock.monotonic() < self._active_until and not self._closing.is_set():
            try:
                self._fill()
            except Exception:
                log.exception("push dispatcher could not claim more tasks")

    def _fail(self, batch: Batch, exc: Exception) -> None:
        """A batch that failed here fails its tasks with the reason, as a worker's error does
        (tried again after a backoff, the reason on the job's page); if even that cannot be
        stored, their leases run out and the reaper puts them back."""
        leases = {str(lease.image_id): lease for lease in batch.leases}
        reason = f"calling processing service {batch.service.name!r} failed: {failure_text(exc)}"
        try:
            store_outcomes(self.results, batch, leases, failed_outcomes(reason, list(leases)))
        except Exception:
            log.exception("could not record that push batch of job %s failed", batch.job.id)

    def _send(self, batch: Batch) -> None:
        if self._closing.is_set():
            return
        job, service = batch.job, batch.service
        assert service.endpoint_url is not None
        given = boxes_for(self.db, {job.id: job}, batch.leases)
        request, leases, unsent = request_for(
            batch, self.store, url_ttl=self.url_ttl, base_url=self.base_url, given=given
        )
        if not leases:
            return
        sent = [image_id for image_id in leases if image_id not in unsent]
        self._announce(batch)
        if not sent:
            store_outcomes(self.results, batch, leases, unsent)
            return
        try:
            answer = self.client.process(
                service.endpoint_url, request, self.retry, trusted=service.trusted
            )
        except ServiceError as exc:
            if self._closing.is_set():
                return
            log.warning("job %s: %s", job.id, exc.detail)
            if exc.transient:  # not reachable or failing: offline until a check passes
                record_check(self.db, service.id, exc.detail, self.clock.now())
            reason = f"processing service {service.name!r}: {exc.detail}"
            outcomes = failed_outcomes(reason, sent)
        else:
            outcomes = split_answer(answer, sent)
        store_outcomes(self.results, batch, leases, unsent | outcomes)

    def _announce(self, batch: Batch) -> None:
        key = (batch.job.id, batch.service.id)
        if key in self._announced:
            return
        self._announced.add(key)
        with self.db.write() as repos:
            repos.processing.jobs.add_event(
                batch.job.id,
                None,
                f"sending tasks to processing service {batch.service.name!r} "
                f"at {batch.service.endpoint_url}",
            )


def dispatch_push_tasks(dispatcher: PushDispatcher) -> None:
    """Send tasks of running push-mode jobs to their services, as slots free up."""
    sent = dispatcher.run()
    if sent:
        log.debug("push dispatcher: %d batches sent", sent)
