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

from trapline.api.admission import ClaimGate
from trapline.db.engine import Database
from trapline.files import private_dir
from trapline.imaging.limits import DecodeLimits
from trapline.outbound import OutboundPolicy
from trapline.queue import open_task_queue
from trapline.queue.base import TaskQueue
from trapline.sealed import Sealer
from trapline.services.access import AccessMemo
from trapline.services.blob_cleanup import CLEANUP_INTERVAL, run_blob_cleanup
from trapline.services.callback_secrets import SecretBox
from trapline.services.callbacks import Callbacks, SignatureMonitor
from trapline.services.duties import (
    STUCK_ANALYSIS_INTERVAL,
    Duty,
    DutyRunner,
    JobStarter,
    check_push_services,
    dispatch_push_tasks,
    fail_stuck_analyses,
    reap_expired_leases,
    restart_stuck_jobs,
    server_identity,
)
from trapline.services.export_runner import DUTY_INTERVAL as EXPORTS_INTERVAL
from trapline.services.export_runner import ExportRunner
from trapline.services.push import DISPATCH_INTERVAL, PushDispatcher
from trapline.services.results import ResultStore
from trapline.services.service_client import ServiceClient
from trapline.services.source_ingest import RunLimits
from trapline.services.source_runs import SourceRunner, start_due_sources
from trapline.services.sources import SourceRules
from trapline.services.workers import WorkerTracker
from trapline.settings import Settings
from trapline.storage import open_blob_store
from trapline.storage.base import BlobStore

#: Seconds between runs of the duty that restarts jobs a crashed server left half-started.
JOB_RECOVERY_INTERVAL = 10.0


def open_database(settings: Settings) -> Database:
    """The database the settings point to (its folder made private when it is the default)."""
    if settings.database_url is None:
        private_dir(settings.data_dir)
    return Database.from_url(
        settings.resolved_database_url,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        pool_timeout=settings.database_pool_timeout,
        sqlite_busy_timeout=settings.sqlite_busy_timeout,
    )


def open_store(settings: Settings) -> BlobStore:
    """The blob store the settings point to."""
    return open_blob_store(
        settings.resolved_storage_url,
        secret_key=settings.resolved_secret_key(),
        s3_endpoint_url=settings.s3_endpoint_url,
        s3_region=settings.s3_region,
    )


def open_source_runner(
    settings: Settings, db: Database, store: BlobStore, secret: bytes, starter: JobStarter
) -> SourceRunner:
    """The runner of pull sources, with the limits and rules the settings give."""
    rules = SourceRules(
        policy=OutboundPolicy.from_settings(settings),
        local_roots=tuple(settings.sources_local_roots),
        sealer=Sealer(secret),
    )
    limits = RunLimits(
        timeout=settings.sources_timeout,
        downloads=settings.sources_downloads,
        run_limit=settings.sources_run_limit,
        max_listing=settings.sources_max_listing,
        lease_seconds=settings.sources_lease_seconds,
        max_file_bytes=settings.max_upload_bytes,
        decode=DecodeLimits(settings.max_decode_bytes, settings.max_concurrent_decodes),
    )
    return SourceRunner(
        db,
        store,
        rules,
        limits,
        holder=server_identity(),
        concurrency=settings.sources_concurrency,
        start_job=starter.submit,
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
    access: AccessMemo
    #: Where every result is stored (workers, push services).
    results: ResultStore
    claims: ClaimGate
    #: Runs exports in the background (its duty takes over those of crashed servers).
    exports: ExportRunner
    #: Runs pull sources (the scheduler duty and run-now requests).
    sources: SourceRunner

    #: The callback API for external pipelines (docs/callback-api.md).
    callbacks: Callbacks
    #: Called with each new project's id once it is created: ``trapline up`` registers the
    #: embedded worker's pipelines with it at once, so a job can use them straight away.
    project_created: list[Callable[[int], None]] = field(default_factory=list, repr=False)
    #: Whether ``close`` disposes of ``db`` (False when the caller handed it in).
    owns_db: bool = field(default=True, repr=False)

    @classmethod
    def from_settings(cls, settings: Settings, *, db: Database | None = None) -> Platform:
        """Build every part once; ``db``, when given, is used and left open by ``close``."""
        database = db or open_database(settings)
        secret = settings.resolved_secret_key()
        store = open_store(settings)
        queue = open_task_queue(settings.queue_url, database)
        starter = JobStarter(database, queue)
        service_client = ServiceClient(
            process_timeout=settings.push_timeout, policy=OutboundPolicy.from_settings(settings)
        )
        access = AccessMemo(database, settings.access_cache_seconds)
        tracker = WorkerTracker(database)
        results = ResultStore(database, queue, access, tracker, secret)
        push = PushDispatcher(database, queue, store, service_client, results, settings=settings)
        exports = ExportRunner(
            database,
            store,
            name=server_identity(),
            ttl=timedelta(seconds=settings.export_ttl),
            workers=settings.export_workers,
        )
        sources = open_source_runner(settings, database, store, secret, starter)
        duties = DutyRunner(
            database,
            [
                Duty(
                    "lease-reaper",
                    settings.reaper_interval,
                    lambda: reap_expired_leases(database, queue),
                ),
                Duty(
                    "job-recovery",
                    JOB_RECOVERY_INTERVAL,
                    lambda: restart_stuck_jobs(database, starter),
                ),
                Duty(
                    "service-status",
                    settings.status_interval,
                    lambda: check_push_services(database, service_client),
                ),
                Duty("push-dispatcher", DISPATCH_INTERVAL, lambda: dispatch_push_tasks(push)),
                Duty("exports", EXPORTS_INTERVAL, exports.resume),
                Duty(
                    "blob-cleanup",
                    CLEANUP_INTERVAL,
                    lambda: run_blob_cleanup(database, store),
                ),
                Duty("pull-sources", settings.sources_interval, lambda: start_due_sources(sources)),
                Duty(
                    "stuck-analyses",
                    STUCK_ANALYSIS_INTERVAL,
                    lambda: fail_stuck_analyses(database, settings),
                ),
                *queue.background_duties(settings),
            ],
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
            claims=ClaimGate(settings.max_claims_in_flight),
            exports=exports,
            sources=sources,
            callbacks=Callbacks(database, store, settings, SecretBox(secret), SignatureMonitor()),
            owns_db=db is None,
        )

    def close(self) -> None:
        """Release what the parts hold, users of the database first, then the database."""
        self.exports.close()

        self.sources.close()
        self.push.close()
        self.service_client.close()
        self.starter.close()
        self.queue.close()
        if self.owns_db:
            self.db.dispose()
