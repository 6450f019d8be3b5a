"""The sections of what the server runs in the background: push mode, exports, pull sources."""

from __future__ import annotations

from pydantic import Field

from trapline.settings.base import Paths, Section


class PushSettings(Section):
    """Processing services (push mode): the calls the server makes to them."""

    #: Processing services (push mode): most ``/process`` calls in flight per server process.
    concurrency: int = Field(4, ge=1, le=256, validation_alias="TRAPLINE_PUSH_CONCURRENCY")
    #: Processing services (push mode): images sent in one ``/process`` call.
    batch_size: int = Field(8, ge=1, le=1000, validation_alias="TRAPLINE_PUSH_BATCH_SIZE")
    #: Processing services (push mode): seconds one ``/process`` call may take.
    timeout: float = Field(120.0, gt=0, validation_alias="TRAPLINE_PUSH_TIMEOUT")
    #: Seconds between processing-service status checks (``/readyz``).
    status_interval: float = Field(30.0, gt=0, le=3600)


class ExportSettings(Section):
    """Exports (docs/exports.md)."""

    #: Exports: seconds an export's file is kept before it is removed (default one week).
    ttl: int = Field(
        7 * 24 * 3600, ge=300, le=366 * 24 * 3600, validation_alias="TRAPLINE_EXPORT_TTL"
    )
    #: Exports: how many run at once in each server process.
    workers: int = Field(1, ge=1, le=16, validation_alias="TRAPLINE_EXPORT_WORKERS")
    #: Exports: processes that write a big export in a format written in parts (Camtrap DP
    #: from 50,000 photos, the Darwin Core Archive from 200,000); 1: every export in the
    #: server's own process.
    processes: int = Field(2, ge=1, le=64, validation_alias="TRAPLINE_EXPORT_PROCESSES")


class SourceSettings(Section):
    """Pull sources (docs/sources.md)."""

    #: Folders ``local`` pull sources may read, comma-separated; empty: local sources are off.
    local_roots: Paths = Field(
        default_factory=list, validation_alias="TRAPLINE_SOURCES_LOCAL_ROOTS"
    )
    #: Seconds between runs of the scheduler that starts due pull sources.
    interval: float = Field(15.0, gt=0, le=3600, validation_alias="TRAPLINE_SOURCES_INTERVAL")
    #: Pull sources one server process runs at once.
    concurrency: int = Field(2, ge=1, le=64, validation_alias="TRAPLINE_SOURCES_CONCURRENCY")
    #: Files one run downloads at once.
    downloads: int = Field(4, ge=1, le=64, validation_alias="TRAPLINE_SOURCES_DOWNLOADS")
    #: Seconds to connect to a source, and to wait for each read from it.
    timeout: float = Field(30.0, gt=0, le=600, validation_alias="TRAPLINE_SOURCES_TIMEOUT")
    #: Longest one run may last, in seconds; what it did not reach, the next run takes.
    run_limit: float = Field(3600.0, gt=0, validation_alias="TRAPLINE_SOURCES_RUN_LIMIT")
    #: Most entries (files and folders) one listing may hold.
    max_listing: int = Field(1_000_000, ge=1, validation_alias="TRAPLINE_SOURCES_MAX_LISTING")
    #: Seconds a run's lease lasts unrenewed: a dead server's sources run elsewhere after it.
    lease_seconds: float = Field(
        60.0, ge=1, le=3600, validation_alias="TRAPLINE_SOURCES_LEASE_SECONDS"
    )
