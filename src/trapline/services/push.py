"""The push dispatcher: tasks of push-mode (``sync_api``) jobs sent to processing services.

Pull workers claim tasks; for a push-mode job the platform claims them itself, from the same
task queue and under the same leases. Each batch of ``push_batch_size`` tasks goes to an online
push-mode service of the job's project that offers the job's pipeline (``POST /process`` with
signed image URLs, never a token); the merged answer is split per image, and each image's
result is stored by ``ResultStore.store``, the path pulled results take, so counters, duplicates,
retries, ``max_attempts`` and dead-lettering behave the same in both modes.

A call that fails (after its own retries of connection errors and 5xx answers) fails its tasks
like a worker's error result: they are retried with backoff, then dead-lettered. A service that
could not be reached counts as offline until its next good status check; tasks of a job with no
online service wait in the queue.
"""

from __future__ import annotations

import logging
import math
import queue as queues
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.jobs import DispatchMode, Job, JobStatus, Lease
from trapline.domain.lease_tokens import LeaseClaim
from trapline.domain.pipelines import ServiceStatus
from trapline.domain.records import User
from trapline.protocol import (
    DetectionResponse,
    PipelineRequest,
    PipelineResultsResponse,
    ResultError,
    SourceImageRequest,
)
from trapline.queue.base import TaskQueue
from trapline.services.results import Posted, ResultStore, Settled, Verdict
from trapline.services.service_client import PROCESS_RETRY, ServiceClient, ServiceError
from trapline.services.service_status import online_window, record_check
from trapline.settings import Settings
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Seconds between dispatcher runs; a run only fills free slots and never waits for a call.
DISPATCH_INTERVAL = 1.0
#: Seconds a push task's lease lasts beyond the longest its call (with retries) may take.
LEASE_MARGIN = 60.0
#: Most running push-mode jobs looked at per run.
MAX_JOBS = 1000

#: Who stores pushed results: the platform itself, acting in every project. It exists only in
#: memory and is never written anywhere; results name the processing service as their worker.
PLATFORM = User(
    id=0,
    email="push-dispatcher@trapline.invalid",
    name="push dispatcher",
    is_admin=True,
    is_active=True,
    created_at=datetime(2000, 1, 1, tzinfo=UTC),
)

Outcome = PipelineResultsResponse | ResultError


@dataclass(frozen=True)
class Batch:
    """Tasks of one job claimed for one call to one service."""

    job: Job
    service: ServiceStatus
    leases: list[Lease]


def split_answer(answer: PipelineResultsResponse, image_ids: list[str]) -> dict[str, Outcome]:
    """A service's merged answer as one outcome per image of the request.

    An image named in ``errors`` (``{"error", "image_id"}``) failed; one with detections, or
    listed in ``source_images``, succeeded with its own detections; any other image failed, as
    the service said nothing about it.
    """
    wanted = set(image_ids)
    failed: dict[str, str] = {}
    general: list[str] = []
    for error in answer.errors if isinstance(answer.errors, list) else [answer.errors]:
        if isinstance(error, dict) and str(error.get("image_id")) in wanted:
            failed.setdefault(str(error["image_id"]), str(error.get("error") or error))
        elif error:
            general.append(str(error))
    found: dict[str, list[DetectionResponse]] = {image_id: [] for image_id in image_ids}
    for detection in answer.detections:
        if detection.source_image_id in found:
            found[detection.source_image_id].append(detection)
        else:
            log.warning(
                "ignoring a detection for image %r, not asked for", detection.source_image_id
            )
    returned = {image.id for image in answer.source_images} | {
        image_id for image_id, detections in found.items() if detections
    }
    share = answer.total_time / max(len(returned), 1)
    outcomes: dict[str, Outcome] = {}
    for image_id in image_ids:
        if image_id in failed:
            outcomes[image_id] = ResultError(error=failed[image_id], image_id=image_id)
        elif image_id in returned:
            outcomes[image_id] = PipelineResultsResponse(
                pipeline=answer.pipeline,
                total_time=share,
                source_images=[s for s in answer.source_images if s.id == image_id][:1],
                detections=found[image_id],
            )
        else:
            why = "the processing service returned no result for this image"
            outcomes[image_id] = ResultError(
                error=f"{why}: {'; '.join(general)}" if general else why, image_id=image_id
            )
    return outcomes


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
        settings: Settings,
    ) -> None:
        self.db, self.queue, self.store, self.client = db, queue, store, client
        self.results = results
        self.batch_size = settings.push_batch_size
        self.slots = settings.push_concurrency
        self.url_ttl = settings.signed_url_ttl
        self.window = online_window(settings.status_interval)
        self.base_url = settings.public_base_url
        self.retry = PROCESS_RETRY
        self._lock = threading.Lock()
        self._filling = threading.Lock()
        self._busy: dict[int, int] = {}
        self._work: queues.SimpleQueue[Batch | None] = queues.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._closing = threading.Event()
        self._active_until = 0.0
        self._waiting: set[int] = set()
        self._announced: set[tuple[int, int]] = set()

    @property
    def in_flight(self) -> int:
        """Batches claimed and not yet stored."""
        with self._lock:
            return sum(self._busy.values())

    def run(self) -> int:
        """The duty: fill free slots with batches of running push-mode jobs; returns how many."""
        # A finished batch may start the next at once, but only while this replica runs the duty.
        self._active_until = time.monotonic() + 3 * DISPATCH_INTERVAL
        return self._fill()

    def close(self, timeout: float = 5.0) -> None:
        """Stop claiming; wait a little for calls in flight (their leases expire otherwise)."""
        with self._lock:
            self._closing.set()
            threads = list(self._threads)
        for _ in threads:
            self._work.put(None)
        deadline = time.monotonic() + timeout
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    # -- claiming --

    def _fill(self) -> int:
        if self._closing.is_set():
            return 0
        with self._filling:  # slots are counted, then claimed: one filler at a time
            free = self.slots - self.in_flight
            if free <= 0:
                return 0
            now = utcnow()
            with self.db.read() as repos:
                _, jobs = repos.jobs.page(
                    project_ids=None,
                    statuses=[JobStatus.RUNNING],
                    dispatch_mode=DispatchMode.SYNC_API,
                    limit=MAX_JOBS,
                    offset=0,
                )
                targets = {
                    job.id: repos.pipelines.push_services_for(
                        job.project_id, job.pipeline_slug, now, self.window
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
            if not self._threads:
                for n in range(self.slots):
                    thread = threading.Thread(target=self._serve, name=f"push-{n}", daemon=True)
                    thread.start()
                    self._threads.append(thread)
        self._work.put(batch)

    def _note_waiting(self, jobs: list[Job], targets: dict[int, list[ServiceStatus]]) -> None:
        """Tell each job once when it starts waiting for an online service."""
        waiting = {job.id for job in jobs if not targets[job.id]}
        new = [job for job in jobs if job.id in waiting - self._waiting]
        self._waiting = waiting
        if not new:
            return
        with self.db.write() as repos:
            for job in new:
                repos.jobs.add_event(
                    job.id,
                    None,
                    f"waiting for an online push-mode processing service offering pipeline "
                    f"{job.pipeline_slug!r}; register one with POST "
                    f"/api/v2/projects/{job.project_id}/processing-services/",
                )

    # -- calling --

    def _serve(self) -> None:
        while (batch := self._work.get()) is not None:
            try:
                self._send(batch)
            except Exception:  # the leases expire and the reaper puts the tasks back
                if not self._closing.is_set():
                    log.exception("push batch of job %s failed", batch.job.id)
            finally:
                with self._lock:
                    self._busy[batch.service.id] -= 1
            if time.monotonic() < self._active_until and not self._closing.is_set():
                try:
                    self._fill()
                except Exception:
                    log.exception("push dispatcher could not claim more tasks")

    def _send(self, batch: Batch) -> None:
        if self._closing.is_set():
            return
        job, service = batch.job, batch.service
        assert service.endpoint_url is not None
        request, leases = self._request(batch)
        if not leases:
            return
        self._announce(batch)
        try:
            answer = self.client.process(
                service.endpoint_url, request, self.retry, trusted=service.trusted
            )
        except ServiceError as exc:
            if self._closing.is_set():
                return
            log.warning("job %s: %s", job.id, exc.detail)
            if exc.transient:  # not reachable or failing: offline until a check passes
                record_check(self.db, service.id, exc.detail)
            reason = f"processing service {service.name!r}: {exc.detail}"
            outcomes: dict[str, Outcome] = {
                image_id: ResultError(error=reason, image_id=image_id) for image_id in leases
            }
        else:
            outcomes = split_answer(answer, list(leases))
        self._store(batch, leases, outcomes)

    def _request(self, batch: Batch) -> tuple[PipelineRequest, dict[str, Lease]]:
        leases = {str(lease.image_id): lease for lease in batch.leases}
        source_images = []
        for image_id, lease in leases.items():
            url = self.store.signed_url(lease.storage_key, expires_in=self.url_ttl)
            absolute = self.base_url + url if url.startswith("/") else url
            source_images.append(SourceImageRequest(id=image_id, url=absolute))
        request = PipelineRequest(
            pipeline=batch.job.pipeline_slug, source_images=source_images, config={}
        )
        return request, leases

    def _announce(self, batch: Batch) -> None:
        key = (batch.job.id, batch.service.id)
        if key in self._announced:
            return
        self._announced.add(key)
        with self.db.write() as repos:
            repos.jobs.add_event(
                batch.job.id,
                None,
                f"sending tasks to processing service {batch.service.name!r} "
                f"at {batch.service.endpoint_url}",
            )

    def _store(self, batch: Batch, leases: dict[str, Lease], outcomes: dict[str, Outcome]) -> None:
        """Store the outcomes as a worker's results; a result that is refused fails its task."""
        job, service = batch.job, batch.service.name
        _, project = self.results.access.worker_job(PLATFORM, job.id)
        worker = f"push:{service}"

        def store(items: dict[str, Outcome]) -> list[Settled]:
            posted = [Posted(None, _claim(leases[image_id]), o) for image_id, o in items.items()]
            return self.results.store(job, project, worker, posted)

        verdicts = store(outcomes)
        refused = {
            image_id: ResultError(
                error=f"the result of processing service {service!r} was refused: {v.detail}",
                image_id=image_id,
            )
            for (image_id, outcome), v in zip(outcomes.items(), verdicts, strict=True)
            if v.verdict is Verdict.REJECTED and isinstance(outcome, PipelineResultsResponse)
        }
        if refused:
            store(dict(refused))


def _claim(lease: Lease) -> LeaseClaim:
    return LeaseClaim(lease.job_id, lease.task_id, lease.attempt, lease.lease_id)
