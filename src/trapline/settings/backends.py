"""The backends' sections: the database, the blob store and the task queue."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, field_validator

from trapline.settings.base import Section

#: The database URL schemes trapline runs on (``postgresql://`` and ``postgres://`` are taken
#: as ``postgresql+psycopg://``).
DATABASE_SCHEMES = ("sqlite", "sqlite+pysqlite", "postgresql+psycopg")
_DATABASE_URLS = "use sqlite:///path/to/trapline.db or postgresql://user@host:5432/database"


class DatabaseSettings(Section):
    """Which database, and how many connections to it."""

    #: SQLAlchemy URL of the database; default: SQLite file ``trapline.db`` in the data dir.
    #: ``postgresql://…`` and ``postgresql+psycopg://…`` are both accepted (psycopg 3).
    url: str | None = Field(None, validation_alias="TRAPLINE_DATABASE_URL")
    #: Connections kept open per server process (PostgreSQL only).
    pool_size: int = Field(10, ge=1, le=200, validation_alias="TRAPLINE_DATABASE_POOL_SIZE")
    #: Extra connections allowed beyond the pool under load (PostgreSQL only).
    max_overflow: int = Field(20, ge=0, le=500, validation_alias="TRAPLINE_DATABASE_MAX_OVERFLOW")
    #: Seconds to wait for a free pooled connection before answering 503.
    pool_timeout: float = Field(10.0, gt=0, validation_alias="TRAPLINE_DATABASE_POOL_TIMEOUT")
    #: Seconds SQLite waits for the write lock before giving up.
    sqlite_busy_timeout: float = Field(30.0, gt=0)
    #: Seconds one query of a web or API request may run before it is stopped and the request
    #: answered 503 asking for less (0: no limit). Background work and migrations have none.
    statement_timeout: float = Field(
        10.0, ge=0, validation_alias="TRAPLINE_DATABASE_STATEMENT_TIMEOUT"
    )

    @field_validator("url")
    @classmethod
    def _normalise_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                value = "postgresql+psycopg://" + value[len(prefix) :]
        scheme, found, _ = value.partition("://")
        if not found:
            raise ValueError(f"not a database URL: it names no scheme ({_DATABASE_URLS})")
        if scheme not in DATABASE_SCHEMES:
            raise ValueError(f"trapline does not run on {scheme!r} ({_DATABASE_URLS})")
        return value

    def resolved_url(self, data_dir: Path) -> str:
        """The database URL, defaulting to a SQLite file in ``data_dir``."""
        if self.url:
            return self.url
        return f"sqlite:///{(data_dir / 'trapline.db').resolve()}"


class StorageSettings(Section):
    """Where blobs are kept, and how long the links to them last."""

    #: Blob storage URL: ``file:///path`` or ``s3://bucket/prefix``; default ``file://`` under
    #: the data dir.
    url: str | None = Field(None, validation_alias="TRAPLINE_STORAGE_URL")
    #: Endpoint of an S3-compatible service such as MinIO (``http://127.0.0.1:9000``);
    #: empty means AWS.
    s3_endpoint_url: str | None = None
    #: Region for the S3 client.
    s3_region: str = "us-east-1"
    #: Seconds a signed blob URL stays valid.
    signed_url_ttl: int = Field(3600, gt=0, le=7 * 24 * 3600)

    def resolved_url(self, data_dir: Path) -> str:
        """The storage URL, defaulting to a ``blobs`` folder in ``data_dir``."""
        if self.url:
            return self.url
        return (data_dir / "blobs").resolve().as_uri()


class QueueSettings(Section):
    """How tasks reach workers, and how often their leases are checked."""

    #: Task dispatch: ``sql`` (the tasks table is the queue) or ``nats://host:4222``
    #: (JetStream; options ``?prefix=trapline&replicas=3``, several servers comma-separated).
    url: str = Field("sql", validation_alias="TRAPLINE_QUEUE_URL")
    #: NATS queue: seconds between runs of the dispatch reconciler, which republishes queued
    #: tasks the stream lost and cleans up after ended jobs.
    nats_reconcile_interval: float = Field(15.0, gt=0, le=3600)
    #: Seconds between runs of the lease reaper.
    reaper_interval: float = Field(5.0, gt=0, le=3600)
