"""One Settings object for the platform and the worker, read from TRAPLINE_* variables and .env."""

from __future__ import annotations

import json
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: File in the data dir that keeps the generated secret key between runs.
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name


class Settings(BaseSettings):
    """Every knob trapline has. A CLI flag such as ``--data-dir`` sets the same field."""

    model_config = SettingsConfigDict(
        env_prefix="TRAPLINE_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    #: Directory for the embedded database, local blob storage and the generated secret key.
    data_dir: Path = Path("./trapline-data")
    #: SQLAlchemy URL of the database; default: SQLite file ``trapline.db`` in the data dir.
    #: ``postgresql://…`` and ``postgresql+psycopg://…`` are both accepted (psycopg 3).
    database_url: str | None = None
    #: Connections kept open per server process (PostgreSQL only).
    database_pool_size: int = Field(10, ge=1, le=200)
    #: Extra connections allowed beyond the pool under load (PostgreSQL only).
    database_max_overflow: int = Field(20, ge=0, le=500)
    #: Seconds to wait for a free pooled connection before answering 503.
    database_pool_timeout: float = Field(10.0, gt=0)
    #: Seconds SQLite waits for the write lock before giving up.
    sqlite_busy_timeout: float = Field(30.0, gt=0)
    #: Blob storage URL: ``file:///path`` or ``s3://bucket/prefix``; default ``file://`` under
    #: the data dir.
    storage_url: str | None = None
    #: Endpoint of an S3-compatible service such as MinIO (``http://127.0.0.1:9000``);
    #: empty means AWS.
    s3_endpoint_url: str | None = None
    #: Region for the S3 client.
    s3_region: str = "us-east-1"
    #: Task dispatch: ``sql`` (the tasks table is the queue) or ``nats://host:4222``.
    queue_url: str = "sql"
    #: Secret used to sign blob URLs and lease tokens. Generated once and kept in
    #: ``<data_dir>/secret-key`` when not given; give the same value to every replica.
    secret_key: SecretStr | None = None
    #: Address the server binds to.
    host: str = "127.0.0.1"
    #: Port the server listens on.
    port: int = Field(8000, ge=0, le=65535)
    #: Public base URL of the server (``https://trapline.example.org``) used in links handed to
    #: workers; default: the URL the request came in on.
    public_url: str | None = None
    #: Largest single uploaded file, in bytes (413 above it).
    max_upload_bytes: int = Field(100 * 1024 * 1024, gt=0)
    #: Largest request body, in bytes, summed over all files of one upload request.
    max_request_bytes: int = Field(1024 * 1024 * 1024, gt=0)
    #: Seconds a signed blob URL stays valid.
    signed_url_ttl: int = Field(3600, gt=0, le=7 * 24 * 3600)
    #: Origins allowed by CORS (comma-separated or a JSON list); empty disables CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Run background duties (lease reaper, job recovery) in this server process; each duty
    #: still runs on one replica at a time.
    duties_enabled: bool = True
    #: Seconds between runs of the lease reaper.
    reaper_interval: float = Field(5.0, gt=0, le=3600)
    #: Log level: DEBUG, INFO, WARNING, ERROR.
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    #: Log format: ``text`` for people, ``json`` for log collectors.
    log_format: Literal["text", "json"] = "text"

    @field_validator("database_url")
    @classmethod
    def _normalise_database_url(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        for prefix in ("postgresql://", "postgres://"):
            if value.startswith(prefix):
                return "postgresql+psycopg://" + value[len(prefix) :]
        return value

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            if value.strip().startswith("["):
                return json.loads(value)
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file in the data dir."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'trapline.db').resolve()}"

    @property
    def resolved_storage_url(self) -> str:
        """The storage URL, defaulting to a ``blobs`` folder in the data dir."""
        if self.storage_url:
            return self.storage_url
        return (self.data_dir / "blobs").resolve().as_uri()

    def resolved_secret_key(self) -> bytes:
        """The signing secret: the configured one, else one generated once into the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


@lru_cache
def get_settings() -> Settings:
    """Settings from the environment, read once per process."""
    return Settings()
