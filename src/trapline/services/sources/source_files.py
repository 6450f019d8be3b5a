"""What became of each file of a pull-source run: stored as an image like an upload, or
skipped or failed with its reason, written in the transaction that adds its image.

``services/sources/source_ingest.py`` lists a source and downloads what it wants; an
``Intake`` stores a run's downloaded files and keeps its counters.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from datetime import datetime
from typing import IO, Any

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.sources.sources import ItemStatus, PullSource, RetryPolicy
from trapline.errors import PayloadTooLarge, TraplineError, UnsupportedMediaType
from trapline.imaging.limits import DecodeLimits
from trapline.services.photos.images import IncomingFile, UploadResult, store_images
from trapline.sources.base import Entry
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: ``images.source`` of pulled images.
PULLED = "pull"


@dataclass(frozen=True)
class RunLimits:
    """How far one run may go."""

    timeout: float = 30.0
    downloads: int = 4
    #: Seconds a run may last.
    run_limit: float = 3600.0
    max_listing: int = 1_000_000
    lease_seconds: float = 60.0
    max_file_bytes: int = 100 * 1024 * 1024
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    decode: DecodeLimits = field(default_factory=DecodeLimits)


@dataclass
class Tally:
    """A run's counters, shared by its download threads."""

    listed: int = 0
    new: int = 0
    imported: int = 0
    duplicates: int = 0
    failed: int = 0
    skipped: int = 0
    image_ids: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def columns(self) -> dict[str, int]:
        """The counters as the run's columns."""
        return {
            "listed": self.listed,
            "new": self.new,
            "imported": self.imported,
            "duplicates": self.duplicates,
            "failed": self.failed,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class Fetched:
    """A downloaded file waiting to be ingested."""

    entry: Entry
    attempts: int
    facts: dict[str, Any]
    data: IO[bytes]


class Intake:
    """Stores one run's files as images of its source's project and records their outcomes."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        limits: RunLimits,
        source: PullSource,
        deployment_id: int | None,
        tally: Tally,
        clock: Clock,
    ) -> None:
        self.db, self.store, self.limits, self.clock = db, store, limits, clock
        self.source = source
        self.deployment_id = deployment_id
        self.tally = tally

    def store_all(self, fetched: list[Fetched]) -> None:
        """Store a batch in one transaction; when that fails as a whole (a file refused alone
        is recorded in it), each file on its own, so one file's trouble is its own."""
        if len(fetched) > 1:
            try:
                self._ingest(fetched)
            except TraplineError:
                log.info("source %s: a batch failed; storing its files one by one", self.source.id)
            else:
                return
        for one in fetched:
            self._ingest_alone(one)

    def failed(
        self, entry: Entry, status: ItemStatus, reason: str, attempts: int, facts: dict[str, Any]
    ) -> None:
        """Record a file that was not taken; a failed one is tried again after its backoff."""
        outcome = self._outcome(entry, status, None, attempts, reason, facts, self.clock.now())
        with self.db.write() as repos:
            repos.sources.sources.record_items(self.source.id, [outcome])
        with self.tally.lock:
            if status is ItemStatus.SKIPPED:
                self.tally.skipped += 1
            else:
                self.tally.failed += 1

    def _ingest_alone(self, one: Fetched) -> None:
        """Store one file; its refusal or failure is recorded as the file's outcome."""
        try:
            self._ingest([one])
        except (PayloadTooLarge, UnsupportedMediaType) as exc:
            self.failed(one.entry, ItemStatus.SKIPPED, exc.detail, one.attempts, one.facts)
        except TraplineError as exc:
            self.failed(one.entry, ItemStatus.FAILED, exc.detail, one.attempts, one.facts)

    def _ingest(self, fetched: list[Fetched]) -> None:
        """Store the files as images; their outcomes commit with the images' rows."""

        def record(repos: Repos, results: list[UploadResult]) -> None:
            """Write the files' outcomes in the transaction that stores the images."""
            now = self.clock.now()
            outcomes = []
            for one, result in zip(fetched, results, strict=True):
                if result.image is None:  # refused alone: the others are stored
                    why = result.refusal.detail if result.refusal else "refused"
                    status = refused_status(result.refusal)
                    outcomes.append(self._outcome(one.entry, status, None, one.attempts,
                                                  why, one.facts, now))  # fmt: skip
                    continue
                status = ItemStatus.DUPLICATE if result.duplicate else ItemStatus.IMPORTED
                outcomes.append(
                    self._outcome(one.entry, status, result.image.id, one.attempts, None,
                                  one.facts, now)
                )  # fmt: skip
            repos.sources.sources.record_items(self.source.id, outcomes)

        results = store_images(
            self.db,
            self.store,
            self.source.project_id,
            [IncomingFile(one.entry.key, one.data) for one in fetched],  # type: ignore[arg-type]
            deployment_id=self.deployment_id,
            max_file_bytes=self.limits.max_file_bytes,
            source=PULLED,
            uploaded_by=None,
            recheck=lambda repos: None,
            record=record,
            limits=self.limits.decode,
        )
        tally = self.tally
        with tally.lock:
            for result in results:
                if result.image is None:
                    if refused_status(result.refusal) is ItemStatus.SKIPPED:
                        tally.skipped += 1
                    else:
                        tally.failed += 1
                elif result.duplicate:
                    tally.duplicates += 1
                else:
                    tally.imported += 1
                    tally.image_ids.append(result.image.id)

    def _outcome(
        self,
        entry: Entry,
        status: ItemStatus,
        image_id: int | None,
        attempts: int,
        error: str | None,
        facts: dict[str, Any],
        now: datetime,
    ) -> dict[str, Any]:
        """A file's outcome as its row records it; a failed file waits out its backoff."""
        retry_at = now + self.limits.retry.delay(attempts) if status is ItemStatus.FAILED else None
        return {
            "key": entry.key, "status": status.value, "image_id": image_id,
            "attempts": attempts, "error": error[:2000] if error else None,
            "next_attempt_at": retry_at, "updated_at": now, **facts,
        }  # fmt: skip


def refused_status(refusal: TraplineError | None) -> ItemStatus:
    """Too large or not an image is never taken as it is; anything else is tried again."""
    return (
        ItemStatus.SKIPPED
        if isinstance(refusal, PayloadTooLarge | UnsupportedMediaType)
        else ItemStatus.FAILED
    )
