"""The composition root: everything a platform process runs on, built once from the settings.

``Platform.from_settings`` opens the database, the blob store and the task queue and builds the
objects that share them (job starter, result store, service client, push dispatcher, background
duties, worker tracker, access memory, claim gate). The API (``create_app``), ``trapline
up``/``serve`` and the admin commands all take what they need from one ``Platform``; whoever
builds it closes it.

Platform-side only: the worker never imports this module, and the CLI imports it lazily.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from trapline.background.capture_times import DUTY_INTERVAL as REREADS_INTERVAL
from trapline.background.capture_times import RereadRunner
from trapline.background.classifiers import DUTY_INTERVAL as REFITS_INTERVAL
from trapline.background.classifiers import RefitRunner
from trapline.background.detection_scorers import DUTY_INTERVAL as SCORERS_INTERVAL
from trapline.background.detection_scorers import ScorerRunner
from trapline.background.duties import Duty, DutyRunner, server_identity
from trapline.background.events import DUTY_INTERVAL as REGROUPINGS_INTERVAL
from trapline.background.events import RegroupingRunner
from trapline.background.exports import DUTY_INTERVAL as EXPORTS_INTERVAL
from trapline.background.exports import ExportRunner
from trapline.background.groupings import DUTY_INTERVAL as GROUPINGS_INTERVAL
from trapline.background.groupings import GroupingRunner
from trapline.background.jobs import JobStarter
from trapline.background.push import DISPATCH_INTERVAL, PushDispatcher, dispatch_push_tasks
from trapline.background.refit_jobs import DUTY_INTERVAL as REFIT_JOBS_INTERVAL
from trapline.background.refit_jobs import run_refit_jobs
from trapline.background.sources import SourceRunner, start_due_sources
from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.files import private_dir
from trapline.imaging.limits import DecodeLimits
from trapline.outbound import OutboundPolicy
from trapline.queue import open_task_queue
from trapline.queue.base import TaskQueue
from trapline.services.callbacks.callback_secrets import SecretBox
from trapline.services.callbacks.callbacks import Callbacks, SignatureMonitor
from trapline.services.callbacks.stuck_analyses import STUCK_ANALYSIS_INTERVAL, fail_stuck_analyses
from trapline.services.core.admission import ClaimGate
from trapline.services.core.sealed import Sealer
from trapline.services.ecology.tracking import TRACKING_INTERVAL, track_due
from trapline.services.photos.blob_cleanup import CLEANUP_INTERVAL, run_blob_cleanup
from trapline.services.photos.findings import FINDINGS_INTERVAL, rebuild_findings
from trapline.services.pipelines.service_client import ServiceClient
from trapline.services.pipelines.workers import WorkerTracker
from trapline.services.processing.duties import (
    check_push_services,
    reap_expired_leases,
    restart_stuck_jobs,
)
from trapline.services.processing.results import ResultStore
from trapline.services.processing.worker_access import WorkerAccess
from trapline.services.review.crop_features import Photos
from trapline.services.sources.source_files import RunLimits
from trapline.services.sources.sources import SourceRules
from trapline.settings import Settings, StorageSettings
from trapline.storage import open_blob_store
from trapline.storage.base import BlobStore

#: Seconds between runs of the duty that restarts jobs a crashed server left half-started.
JOB_RECOVERY_INTERVAL = 10.0


def open_database(settings: Settings) -> Database:
    """The database the settings point to (its folder made private when it is the default)."""
    db, data_dir = settings.db, settings.server.data_dir
    if db.url is None:
        private_dir(data_dir)
    return Database.from_url(
        db.resolved_url(data_dir),
        pool_size=db.pool_size,
        max_overflow=db.max_overflow,
        pool_timeout=db.pool_timeout,
        sqlite_busy_timeout=db.sqlite_busy_timeout,
    )


def open_store(storage: StorageSettings, data_dir: Path, secret: bytes) -> BlobStore:
    """The blob store the storage settings point to (by default, a folder in ``data_dir``)."""
    return open_blob_store(
        storage.resolved_url(data_dir),
        secret_key=secret,
        s3_endpoint_url=storage.s3_endpoint_url,
        s3_region=storage.s3_region,
    )


def open_source_runner(
    settings: Settings,
    db: Database,
    store: BlobStore,
    secret: bytes,
    starter: JobStarter,
    decode: DecodeLimits,
    clock: Clock | None = None,
) -> SourceRunner:
    """The runner of pull sources, with the limits and rules the settings give; ``decode``
    is the process's (``Platform.decode``)."""
    rules = SourceRules(
        policy=OutboundPolicy.from_settings(settings.security),
        local_roots=tuple(settings.sources.local_roots),
        sealer=Sealer(secret),
    )
    limits = RunLimits(
        timeout=settings.sources.timeout,
        downloads=settings.sources.downloads,
        run_limit=settings.sources.run_limit,
        max_listing=settings.sources.max_listing,
        lease_seconds=settings.sources.lease_seconds,
        max_file_bytes=settings.http.max_upload_bytes,
        decode=decode,
    )
    return SourceRunner(
        db,
        store,
        rules,
        limits,
        holder=server_identity(),
        concurrency=settings.sources.concurrency,
        start_job=starter.submit,
        clock=clock,
    )


@dataclass(frozen=True)
class Platform:
    """The backends and long-lived services of one platform process.

    Frozen so that nothing swaps a part behind the others' backs (they hold references to
    each other); a test that needs another part builds a copy with ``dataclasses.replace``.
    """

    settings: Settings
    db: Database
    store: BlobStore
    #: Key that signs blob URLs and push-mode callbacks.
    secret: bytes
    queue: TaskQueue
    starter: JobStarter
    service_client: ServiceClient
    push: PushDispatcher
    #: Background duties (lease reaper, job recovery, ...); started by the API's lifespan.
    duties: DutyRunner
    tracker: WorkerTracker
    access: WorkerAccess
    #: Where every result is stored (workers, push services).
    results: ResultStore
    claims: ClaimGate
    #: The memory bounds of decoding images, built once: uploads, thumbnails and crops made
    #: on demand, pull-source runs and tracking all decode within them.
    decode: DecodeLimits
    #: Runs exports in the background (its duty takes over those of crashed servers).
    exports: ExportRunner
    #: Runs pull sources (the scheduler duty and run-now requests).
    sources: SourceRunner
    #: Re-reads capture times after a time zone changed (its duty takes over stalled ones).
    rereads: RereadRunner
    #: Regroups events after a rule changed (its duty takes over stalled ones).
    regroupings: RegroupingRunner
    #: Fits classifier heads refitted from identifications (its duty takes over stalled ones).
    refits: RefitRunner
    #: Fits detection scorers refitted from box reviews (its duty takes over stalled ones).
    scorers: ScorerRunner
    #: Groups unidentified individuals by their features (its duty takes over stalled ones).
    groupings: GroupingRunner

    #: The callback API for external pipelines (docs/callback-api.md).
    callbacks: Callbacks
    #: Called with each new project's id once it is created: ``trapline up`` registers the
    #: embedded worker's pipelines with it at once, so a job can use them straight away.
    project_created: list[Callable[[int], None]] = field(default_factory=list, repr=False)
    #: Whether ``close`` disposes of ``db`` (False when the caller handed it in).
    owns_db: bool = field(default=True, repr=False)
    #: The time every lease, duty, schedule, retry and expiry is judged by (tests hand in a
    #: ``FakeClock``).
    clock: Clock = field(default_factory=SystemClock, repr=False)

    @classmethod
    def from_settings(
        cls, settings: Settings, *, db: Database | None = None, clock: Clock | None = None
    ) -> Platform:
        """Build every part once; ``db``, when given, is used and left open by ``close``;
        ``clock``, when given, is the time the parts go by."""
        clock = clock or SystemClock()
        database = db or open_database(settings)
        secret = settings.security.resolved_secret_key(settings.server.data_dir)
        store = open_store(settings.storage, settings.server.data_dir, secret)
        queue = open_task_queue(settings.queue.url, database, clock)
        starter = JobStarter(database, queue)
        service_client = ServiceClient(
            process_timeout=settings.push.timeout,
            policy=OutboundPolicy.from_settings(settings.security),
            clock=clock,
        )
        access = WorkerAccess(database, settings.security.access_cache_seconds, clock)
        tracker = WorkerTracker(database, clock)
        results = ResultStore(database, queue, access, tracker, secret)
        push = PushDispatcher(
            database,
            queue,
            store,
            service_client,
            results,
            settings=settings.push,
            url_ttl=settings.storage.signed_url_ttl,
            base_url=settings.http.public_base_url,
            clock=clock,
        )
        exports = ExportRunner(
            database,
            store,
            name=server_identity(),
            ttl=timedelta(seconds=settings.exports.ttl),
            workers=settings.exports.workers,
            clock=clock,
            base_url=settings.http.public_url,
            processes=settings.exports.processes,
        )
        decode = DecodeLimits(settings.http.max_decode_bytes, settings.http.max_concurrent_decodes)
        sources = open_source_runner(settings, database, store, secret, starter, decode, clock)
        rereads = RereadRunner(database, name=server_identity(), clock=clock)
        regroupings = RegroupingRunner(database, name=server_identity(), clock=clock)
        photos = Photos(store, decode)
        refits = RefitRunner(database, name=server_identity(), clock=clock, photos=photos)
        scorers = ScorerRunner(database, store, decode, name=server_identity(), clock=clock)
        groupings = GroupingRunner(database, name=server_identity(), clock=clock)
        duties = DutyRunner(
            database,
            [
                Duty(
                    "lease-reaper",
                    settings.queue.reaper_interval,
                    lambda stop: reap_expired_leases(database, queue, stop),
                ),
                Duty(
                    "job-recovery",
                    JOB_RECOVERY_INTERVAL,
                    lambda stop: restart_stuck_jobs(database, starter.submit, clock, stop),
                ),
                Duty(
                    "service-status",
                    settings.push.status_interval,
                    lambda _: check_push_services(database, service_client, clock),
                ),
                Duty("push-dispatcher", DISPATCH_INTERVAL, lambda _: dispatch_push_tasks(push)),
                Duty("exports", EXPORTS_INTERVAL, lambda _: exports.resume()),
                Duty(
                    "blob-cleanup",
                    CLEANUP_INTERVAL,
                    lambda stop: run_blob_cleanup(database, store, clock, stop),
                ),
                Duty(
                    "pull-sources", settings.sources.interval, lambda _: start_due_sources(sources)
                ),
                Duty("capture-times", REREADS_INTERVAL, lambda _: rereads.resume()),
                Duty("events", REGROUPINGS_INTERVAL, lambda _: regroupings.resume()),
                Duty("classifiers", REFITS_INTERVAL, lambda _: refits.resume()),
                Duty("detection-scorers", SCORERS_INTERVAL, lambda _: scorers.resume()),
                Duty("groupings", GROUPINGS_INTERVAL, lambda _: groupings.resume()),
                Duty(
                    "refit-jobs",
                    REFIT_JOBS_INTERVAL,
                    lambda _: run_refit_jobs(database, queue, results, photos),
                ),
                Duty(
                    "occurrences",
                    TRACKING_INTERVAL,
                    lambda stop: track_due(
                        database, store, limits=decode, now=clock.now(), stop=stop
                    ),
                ),
                Duty(
                    "findings",
                    FINDINGS_INTERVAL,
                    lambda stop: rebuild_findings(database, stop=stop),
                ),
                Duty(
                    "stuck-analyses",
                    STUCK_ANALYSIS_INTERVAL,
                    lambda _: fail_stuck_analyses(database, settings.callbacks, clock),
                ),
                *queue.background_duties(settings.queue),
            ],
            clock=clock,
            min_lease=settings.server.duty_min_lease,
        )
        return cls(
            settings=settings,
            db=database,
            store=store,
            secret=secret,
            queue=queue,
            starter=starter,
            service_client=service_client,
            push=push,
            duties=duties,
            tracker=tracker,
            access=access,
            results=results,
            claims=ClaimGate(settings.http.max_claims_in_flight),
            decode=decode,
            exports=exports,
            sources=sources,
            rereads=rereads,
            regroupings=regroupings,
            refits=refits,
            scorers=scorers,
            groupings=groupings,
            callbacks=Callbacks(
                database,
                store,
                settings.callbacks,
                settings.http.max_upload_bytes,
                SecretBox(secret),
                SignatureMonitor(),
            ),
            owns_db=db is None,
            clock=clock,
        )

    def close(self) -> None:
        """Release what the parts hold, users of the database first, then the database."""
        self.exports.close()
        self.rereads.close()
        self.regroupings.close()
        self.refits.close()
        self.scorers.close()
        self.groupings.close()

        self.sources.close()
        self.push.close()
        self.service_client.close()
        self.starter.close()
        self.queue.close()
        if self.owns_db:
            self.db.dispose()
