"""One run of a pull source at work: list the source, take what is new, ingest it like an
upload, and start the source's pipeline over the new images.

What a run takes: every listed file it has never seen, every file whose version (ETag, size,
modified time, whatever the listing shows) changed, and every file that failed before once
its backoff has passed (``domain.sources.wanted``). The known files are read in batches as
the listing streams past, never all at once. Downloads go through the gateway (size limit,
truncation check) and then through ``images.store_images``, the upload path: dedup by
SHA-256, the decode check, capture time, thumbnail. What became of a file is written in the
transaction that adds its image, so a server killed at any moment leaves either both or
neither: the next run takes the file again, and finds its image by hash if it was stored.

When and where a run happens (its run lease) is ``background/sources.py``; what becomes
of each file, ``services/sources/source_files.py``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.domain.processing.jobs import DispatchMode, JobParams
from trapline.domain.sources.sources import (
    ItemStatus,
    KnownFile,
    PullSource,
    RunStatus,
    wanted,
)
from trapline.errors import InvalidInput, TraplineError
from trapline.services.processing.jobs import add_job
from trapline.services.sources.source_files import Fetched, Intake, RunLimits, Tally
from trapline.services.sources.sources import SourceRules
from trapline.sources import open_gateway
from trapline.sources.base import Entry, Gateway, GatewayConfig, SourceError
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Known files read from the database per query while the listing streams past.
LOOKUP_BATCH = 2000
#: Seconds between writes of a running run's counters.
PROGRESS_EVERY = 2.0
#: Files downloaded, then ingested together in one transaction (as an upload of several).
INGEST_BATCH = 8


class _Stop(Exception):
    """The run must end now: its time is up, its lease lost, or its server stopping."""

    def __init__(self, status: RunStatus, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class SourceIngest:
    """Carries out runs of pull sources; a ``SourceRunner`` makes one for each run, under the
    run's lease."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        rules: SourceRules,
        limits: RunLimits,
        *,
        start_job: Callable[[int], object] | None = None,
        clock: Clock | None = None,
    ) -> None:
        self.db = db
        self.store = store
        self.rules = rules
        self.limits = limits
        self.clock = clock or SystemClock()
        #: Called with a job's id once a run made one (``JobStarter.submit``).
        self.start_job = start_job

    def execute(
        self, source: PullSource, run_id: int, *, lost: threading.Event, closing: threading.Event
    ) -> None:
        """Run the source as run ``run_id``: take what is new, start its job, record how it
        ended. Stops at the next file once ``lost`` (the run lease is gone) or ``closing``
        (the server is stopping) is set, or the run time limit has passed."""
        tally = Tally()
        deadline = self.clock.monotonic() + self.limits.run_limit
        status, error = RunStatus.SUCCEEDED, None
        gateway: Gateway | None = None

        def check() -> None:
            if lost.is_set():
                raise _Stop(RunStatus.INTERRUPTED, "the run lost its lease (its server stalled)")
            if closing.is_set():
                raise _Stop(RunStatus.INTERRUPTED, "its server stopped; the next run goes on")
            if self.clock.monotonic() > deadline:
                raise _Stop(
                    RunStatus.FAILED,
                    f"stopped at the run time limit of {self.limits.run_limit:g} s; the next "
                    "run takes what this one did not reach",
                )

        try:
            gateway = open_gateway(source.kind, self._config(source))
            todo = self._new_entries(gateway, source, run_id, tally, check)
            self._take(gateway, source, run_id, todo, tally, check)
        except _Stop as stop:
            status, error = stop.status, stop.reason
        except (SourceError, InvalidInput) as exc:
            status, error = RunStatus.FAILED, exc.detail
        except TraplineError as exc:
            status, error = RunStatus.FAILED, exc.detail
            log.warning("pull source %s: run %s failed: %s", source.id, run_id, exc.detail)
        except Exception as exc:
            status, error = RunStatus.FAILED, f"internal error ({type(exc).__name__})"
            log.exception("pull source %s: run %s failed", source.id, run_id)
        finally:
            if gateway is not None:
                gateway.close()
        if status is RunStatus.SUCCEEDED and tally.failed:
            error = f"{tally.failed} files could not be taken; they are tried again later"
        job_id = self._process(source, tally.image_ids, run_id)
        with self.db.write() as repos:
            repos.sources.sources.record_run(
                run_id,
                status=status.value,
                ended_at=self.clock.now(),
                error=error,
                job_id=job_id,
                **tally.columns(),
            )
        log.info(
            "pull source %s: run %s %s: %d listed, %d new, %d imported, %d duplicates, "
            "%d failed, %d skipped",
            source.id, run_id, status.value, tally.listed, tally.new, tally.imported,
            tally.duplicates, tally.failed, tally.skipped,
        )  # fmt: skip

    def _config(self, source: PullSource) -> GatewayConfig:
        """How to open the source's gateway: its settings, credentials unsealed, our limits."""
        credentials = (
            self.rules.sealer.open(source.sealed_credentials) if source.sealed_credentials else {}
        )
        return GatewayConfig(
            url=source.url,
            credentials=credentials,
            include=source.include,
            exclude=source.exclude,
            depth=source.depth,
            endpoint_url=source.endpoint_url,
            policy=self.rules.policy,
            local_roots=self.rules.local_roots,
            timeout=self.limits.timeout,
            max_listing=self.limits.max_listing,
            max_file_bytes=self.limits.max_file_bytes,
        )

    def _new_entries(
        self, gateway: Gateway, source: PullSource, run_id: int, tally: Tally, check: Any
    ) -> list[tuple[Entry, KnownFile | None]]:
        """The listed files the run takes (at most ``max_files``), counting all it saw."""
        todo: list[tuple[Entry, KnownFile | None]] = []
        batch: list[Entry] = []
        now = self.clock.now()

        def settle() -> None:
            """Look the batch's keys up at once and keep the files the run wants."""
            with self.db.read() as repos:
                known = repos.sources.sources.known(source.id, (e.key for e in batch))
            for entry in batch:
                item = known.get(entry.key)
                if wanted(item, entry.version, now, self.limits.retry):
                    tally.new += 1
                    if len(todo) < source.max_files:
                        todo.append((entry, item))
            batch.clear()

        for entry in gateway.entries():
            tally.listed += 1
            batch.append(entry)
            if len(batch) >= LOOKUP_BATCH:
                settle()
                check()
        settle()
        with self.db.write() as repos:
            repos.sources.sources.record_run(run_id, **tally.columns())
        return todo

    def _take(
        self,
        gateway: Gateway,
        source: PullSource,
        run_id: int,
        todo: list[tuple[Entry, KnownFile | None]],
        tally: Tally,
        check: Any,
    ) -> None:
        """Download and ingest ``todo`` in batches, on several threads where the gateway
        allows; the first stop or error ends the run."""
        threads = self.limits.downloads if getattr(gateway, "parallel_downloads", True) else 1
        intake = Intake(
            self.db,
            self.store,
            self.limits,
            source,
            _deployment(self.db, source),
            tally,
            self.clock,
        )
        last_progress = [self.clock.monotonic()]

        def batch(pairs: list[tuple[Entry, KnownFile | None]]) -> None:
            """Take one batch, writing the run's counters now and then."""
            check()
            self._take_batch(gateway, intake, run_id, pairs, check)
            if self.clock.monotonic() - last_progress[0] > PROGRESS_EVERY:
                last_progress[0] = self.clock.monotonic()
                with self.db.write() as repos, tally.lock:
                    repos.sources.sources.record_run(run_id, **tally.columns())

        batches = [todo[i : i + INGEST_BATCH] for i in range(0, len(todo), INGEST_BATCH)]
        if threads == 1:
            for pairs in batches:
                batch(pairs)
            return
        with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="pull") as pool:
            for done in [pool.submit(batch, pairs) for pairs in batches]:
                done.result()  # the first _Stop (or error) ends the run; the rest are skipped

    def _take_batch(
        self,
        gateway: Gateway,
        intake: Intake,
        run_id: int,
        pairs: list[tuple[Entry, KnownFile | None]],
        check: Any,
    ) -> None:
        """Download a few files, then ingest them together (one transaction, as an upload of
        several files); when one of them spoils the batch, each is ingested alone. A run that
        must stop ingests what it downloaded first."""
        fetched: list[Fetched] = []
        stop: _Stop | None = None
        try:
            for entry, item in pairs:
                try:
                    check()
                except _Stop as exc:
                    stop = exc
                    break
                same_version = item is not None and item.version == entry.version
                attempts = (item.attempts if same_version and item else 0) + 1
                facts = {"version": entry.version, "size": entry.size, "run_id": run_id}
                try:
                    data = gateway.fetch(entry)
                except SourceError as exc:
                    status = ItemStatus.SKIPPED if exc.code == "too_large" else ItemStatus.FAILED
                    intake.failed(entry, status, exc.detail, attempts, facts)
                    continue
                fetched.append(Fetched(entry, attempts, facts, data))
            intake.store_all(fetched)
        finally:
            for done in fetched:
                done.data.close()
        if stop is not None:
            raise stop

    def _process(self, source: PullSource, image_ids: list[int], run_id: int) -> int | None:
        """A job of the source's pipeline over the run's new images, started; its id."""
        if not source.pipeline or not image_ids:
            return None
        try:
            with self.db.write() as repos:
                job = add_job(
                    repos,
                    project_id=source.project_id,
                    pipeline_slug=source.pipeline,
                    selection={"image_ids": sorted(image_ids)},
                    name=f"{source.name}: run {run_id}",
                    start_now=True,
                    params=JobParams(),
                    dispatch_mode=DispatchMode.ASYNC_API,
                    created_by=source.created_by,
                )
        except TraplineError as exc:
            log.warning("pull source %s: no job for run %s: %s", source.id, run_id, exc.detail)
            return None
        if self.start_job is not None:
            self.start_job(job.id)
        return job.id


def _deployment(db: Database, source: PullSource) -> int | None:
    """The source's deployment, if it is still in the source's project."""
    if source.deployment_id is None:
        return None
    with db.read() as repos:
        deployment = repos.core.deployments.get(source.deployment_id)
    return deployment.id if deployment and deployment.project_id == source.project_id else None


__all__ = ["RunLimits", "SourceIngest"]
