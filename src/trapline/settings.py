"""One Settings object for the platform and the worker, read from TRAPLINE_* variables and .env."""

from __future__ import annotations

import json
import os
import secrets
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from trapline.files import private_dir

_MIB = 1024 * 1024
#: Default most bytes one decode may hold: 128 MiB. Baseline JPEGs of any accepted size decode
#: at a reduced scale in a few MB; this still admits PNG or TIFF photos of 33 megapixels (RGB
#: or RGBA, 4 bytes a pixel in memory), 16-bit greyscale TIFFs of 67 megapixels, progressive
#: JPEGs of about 44 megapixels and WebP files of 8 megapixels (libwebp keeps 4 canvases).
DEFAULT_MAX_DECODE_BYTES = 128 * _MIB
#: Default decodes one process runs at once; with the default budget, at most 256 MiB of
#: decoded pixels are held however many files and requests arrive.
DEFAULT_MAX_CONCURRENT_DECODES = 2
#: File in the data dir that keeps the generated secret key between runs.
SECRET_KEY_FILE = "secret-key"  # noqa: S105 - a file name


class Settings(BaseSettings):
    """Every knob trapline has. A CLI flag such as ``--data-dir`` sets the same field."""

    model_config = SettingsConfigDict(
        env_prefix="TRAPLINE_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
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
    #: Task dispatch: ``sql`` (the tasks table is the queue) or ``nats://host:4222``
    #: (JetStream; options ``?prefix=trapline&replicas=3``, several servers comma-separated).
    queue_url: str = "sql"
    #: NATS queue: seconds between runs of the dispatch reconciler, which republishes queued
    #: tasks the stream lost and cleans up after ended jobs.
    nats_reconcile_interval: float = Field(15.0, gt=0, le=3600)
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
    #: Most memory, in bytes, decoding one uploaded image may take (its pixels as decoded plus
    #: the decoder's buffers, judged from the file's header before decoding); larger images
    #: are refused with 413. Baseline JPEGs decode at a reduced size and fit at any size.
    max_decode_bytes: int = Field(DEFAULT_MAX_DECODE_BYTES, ge=16 * 1024 * 1024)
    #: Images one server process decodes at once (uploads and thumbnails made on demand);
    #: with ``max_decode_bytes`` it bounds the memory decoding takes.
    max_concurrent_decodes: int = Field(DEFAULT_MAX_CONCURRENT_DECODES, ge=1, le=256)
    #: Seconds a server process remembers a token's user and a worker's access to a running
    #: job; a token revoked or a membership removed through another replica stops working
    #: within this time. 0 reads the database on every call.
    access_cache_seconds: float = Field(5.0, ge=0, le=300)
    #: Claims (``/tasks/next/``, ``/jobs/{id}/tasks/``) one server process works on at once;
    #: more are answered 503 with Retry-After at once instead of queueing (results are never
    #: refused). Each claim in flight holds a thread and, briefly, a database connection.
    max_claims_in_flight: int = Field(64, ge=1, le=10_000)
    #: FastAPI's OpenTelemetry traces, metrics and logs, sent to the providers the process
    #: configures (opentelemetry-instrument, say). Off, requests skip looking for them.
    opentelemetry: bool = False
    #: Process-wide tuning that ``trapline serve`` and ``up`` apply once at start-up (never
    #: at import; ``trapline.tuning``, docs/deploy.md). ``up`` applies it to its embedded
    #: worker's threads too.
    #: After start-up, move what exists (modules, app, routes) out of the garbage collector's
    #: reach, so full collections walk only what requests leave behind.
    gc_freeze: bool = True
    #: Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005).
    switch_interval: float = Field(0.001, ge=0.0001, le=1.0)
    #: Event loop uvicorn serves on: ``auto`` (uvloop when installed), ``asyncio`` or ``uvloop``.
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    #: Largest piece Pillow allocates image pixels in; 0 keeps Pillow's own (16 MiB), and
    #: Pillow's PILLOW_BLOCK_SIZE variable wins when set.
    pillow_block_bytes: int = Field(64 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)
    #: Seconds a signed blob URL stays valid.
    signed_url_ttl: int = Field(3600, gt=0, le=7 * 24 * 3600)
    #: Origins allowed by CORS (comma-separated or a JSON list); empty disables CORS headers.
    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Run background duties (lease reaper, job recovery) in this server process; each duty
    #: still runs on one replica at a time.
    duties_enabled: bool = True
    #: Seconds between runs of the lease reaper.
    reaper_interval: float = Field(5.0, gt=0, le=3600)
    #: Processing services (push mode): most ``/process`` calls in flight per server process.
    push_concurrency: int = Field(4, ge=1, le=256)
    #: Processing services (push mode): images sent in one ``/process`` call.
    push_batch_size: int = Field(8, ge=1, le=1000)
    #: Processing services (push mode): seconds one ``/process`` call may take.
    push_timeout: float = Field(120.0, gt=0)
    #: Seconds between processing-service status checks (``/readyz``).
    status_interval: float = Field(30.0, gt=0, le=3600)
    #: Networks the server may call for anyone (comma-separated CIDRs such as
    #: ``10.0.0.0/8,fd00::/8``), although they are loopback, private or link-local. Empty: the
    #: server calls only public addresses, except for services an admin registered.
    outbound_allow_networks: Annotated[list[IPv4Network | IPv6Network], NoDecode] = Field(
        default_factory=list
    )
    #: Run a worker for the built-in pipelines inside ``trapline up``.
    embedded_worker: bool = True
    #: Exports: seconds an export's file is kept before it is removed (default one week).
    export_ttl: int = Field(7 * 24 * 3600, ge=300, le=366 * 24 * 3600)
    #: Exports: how many run at once in each server process.
    export_workers: int = Field(1, ge=1, le=16)

    # Pull sources (docs/sources.md).
    #: Folders ``local`` pull sources may read, comma-separated; empty: local sources are off.
    sources_local_roots: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: Seconds between runs of the scheduler that starts due pull sources.
    sources_interval: float = Field(15.0, gt=0, le=3600)
    #: Pull sources one server process runs at once.
    sources_concurrency: int = Field(2, ge=1, le=64)
    #: Files one run downloads at once.
    sources_downloads: int = Field(4, ge=1, le=64)
    #: Seconds to connect to a source, and to wait for each read from it.
    sources_timeout: float = Field(30.0, gt=0, le=600)
    #: Longest one run may last, in seconds; what it did not reach, the next run takes.
    sources_run_limit: float = Field(3600.0, gt=0)
    #: Most entries (files and folders) one listing may hold.
    sources_max_listing: int = Field(1_000_000, ge=1)
    #: Seconds a run's lease lasts unrenewed: a dead server's sources run elsewhere after it.
    sources_lease_seconds: float = Field(60.0, ge=1, le=3600)

    # The callback API for external pipelines (docs/callback-api.md). Each field also reads
    # the integration guide's ML_* variable.

    #: Callback API: on; off, every callback route answers 404 (also ``ML_ANALYSIS_ENABLED``).
    ml_analysis_enabled: bool = Field(
        True, validation_alias=AliasChoices("TRAPLINE_ML_ANALYSIS_ENABLED", "ML_ANALYSIS_ENABLED")
    )
    #: Callback API: the global HMAC secrets, comma-separated; every one is valid, so a new
    #: one can be added before the old one goes (also ``ML_CALLBACK_HMAC_SECRET``).
    ml_callback_hmac_secret: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_CALLBACK_HMAC_SECRET", "ML_CALLBACK_HMAC_SECRET"
        ),
    )
    #: Callback API: callbacks must be signed; off, a member's API token may stand in for a
    #: signature (also ``ML_PIPELINE_REQUIRE_HMAC``).
    ml_pipeline_require_hmac: bool = Field(
        True,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_PIPELINE_REQUIRE_HMAC", "ML_PIPELINE_REQUIRE_HMAC"
        ),
    )
    #: Callback API: model names analyses may name (comma-separated); empty allows any
    #: (also ``ML_ALLOWED_MODELS``).
    ml_allowed_models: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        validation_alias=AliasChoices("TRAPLINE_ML_ALLOWED_MODELS", "ML_ALLOWED_MODELS"),
    )
    #: Callback API: analyses one image may have; past it, creating one answers 429
    #: (also ``ML_MAX_ANALYSES_PER_IMAGE``).
    ml_max_analyses_per_image: int = Field(
        50,
        ge=1,
        le=1_000_000,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_MAX_ANALYSES_PER_IMAGE", "ML_MAX_ANALYSES_PER_IMAGE"
        ),
    )
    #: Callback API: annotations in one bulk post; more answer 413
    #: (also ``ML_MAX_BULK_ANNOTATIONS``).
    ml_max_bulk_annotations: int = Field(
        5000,
        ge=1,
        le=50_000,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_MAX_BULK_ANNOTATIONS", "ML_MAX_BULK_ANNOTATIONS"
        ),
    )
    #: Callback API: seconds an upload or download link stays valid
    #: (also ``ML_PRESIGNED_URL_EXPIRY_SECONDS``).
    ml_presigned_url_expiry_seconds: int = Field(
        900,
        ge=1,
        le=7 * 24 * 3600,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_PRESIGNED_URL_EXPIRY_SECONDS", "ML_PRESIGNED_URL_EXPIRY_SECONDS"
        ),
    )
    #: Callback API: seconds a signature's timestamp may be off the server's clock, either way
    #: (also ``ML_CALLBACK_MAX_SKEW_SECONDS``).
    ml_callback_max_skew_seconds: int = Field(
        300,
        ge=1,
        le=3600,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_CALLBACK_MAX_SKEW_SECONDS", "ML_CALLBACK_MAX_SKEW_SECONDS"
        ),
    )
    #: Callback API: seconds an analysis may stay queued or processing before a background
    #: duty marks it failed (also ``ML_STUCK_ANALYSIS_SECONDS``).
    ml_stuck_analysis_seconds: float = Field(
        6 * 3600.0,
        gt=0,
        validation_alias=AliasChoices(
            "TRAPLINE_ML_STUCK_ANALYSIS_SECONDS", "ML_STUCK_ANALYSIS_SECONDS"
        ),
    )

    # The worker. Each field also reads the AMI Data Companion's variable where one exists.

    #: Worker: base URL of the platform's API, with or without ``/api/v2``
    #: (also ``AMI_ANTENNA_API_BASE_URL``).
    api_url: str = Field(
        "http://127.0.0.1:8000/api/v2",
        validation_alias=AliasChoices("TRAPLINE_API_URL", "AMI_ANTENNA_API_BASE_URL"),
    )
    #: Worker: API token (a service token or a member's token; also
    #: ``AMI_ANTENNA_API_AUTH_TOKEN``).
    token: SecretStr | None = Field(
        None, validation_alias=AliasChoices("TRAPLINE_TOKEN", "AMI_ANTENNA_API_AUTH_TOKEN")
    )
    #: Worker: tasks claimed per request (also ``AMI_ANTENNA_API_BATCH_SIZE``).
    batch_size: int = Field(
        16,
        ge=1,
        le=1000,
        validation_alias=AliasChoices("TRAPLINE_BATCH_SIZE", "AMI_ANTENNA_API_BATCH_SIZE"),
    )
    #: Worker: pipelines to serve (comma-separated slugs); empty: every pipeline it has.
    pipelines: Annotated[list[str], NoDecode] = Field(default_factory=list)
    #: Worker: pipeline spec files (comma-separated paths) adding ONNX pipelines.
    pipeline_files: Annotated[list[Path], NoDecode] = Field(default_factory=list)
    #: Worker: name shown on the platform; default: the host name and process id.
    worker_name: str | None = None
    #: Worker: exit when there is no work instead of waiting for more.
    burst: bool = False
    #: Worker: memory limit such as ``4G`` or ``512M``; the worker stops prefetching near it.
    max_memory: int | None = None
    #: Worker: largest image it downloads, in bytes; larger ones fail their task.
    max_image_bytes: int = Field(200 * 1024 * 1024, gt=0)
    #: Worker: images with more pixels than this are decoded at a reduced size (JPEG draft
    #: mode) to bound memory; boxes are still reported in original pixels.
    max_decode_pixels: int = Field(24_000_000, ge=1_000_000)
    #: Worker: parallel image downloads.
    download_threads: int = Field(8, ge=1, le=128)
    #: Worker: seconds to finish the batch in hand and post its results after SIGTERM.
    drain_timeout: float = Field(60.0, gt=0)
    #: Worker: seconds each HTTP call to the platform may take.
    request_timeout: float = Field(60.0, gt=0)
    #: Worker: directory where downloaded model weights are cached.
    weights_cache_dir: Path = Path("~/.cache/trapline/weights").expanduser()
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

    @field_validator(
        "pipelines", "pipeline_files", "sources_local_roots", "ml_allowed_models", mode="before"
    )
    @classmethod
    def _split_list(cls, value: object) -> object:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value

    @field_validator("outbound_allow_networks", mode="before")
    @classmethod
    def _parse_networks(cls, value: object) -> object:
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list | tuple):
            return value
        return [parse_network(v) if isinstance(v, str) else v for v in value]

    @field_validator("max_memory", mode="before")
    @classmethod
    def _parse_size(cls, value: object) -> object:
        return parse_size(value) if isinstance(value, str) else value

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

    @property
    def public_base_url(self) -> str:
        """Where workers, services and browsers reach this server, without a trailing slash.

        ``public_url`` when set; otherwise the address the server binds to (loopback for a
        wildcard address). Never a request's Host header: its caller writes it, and links
        built from it would send signed URLs and tokens wherever the caller named.
        """
        if self.public_url:
            return self.public_url.rstrip("/")
        host = self.host
        if host in ("", "0.0.0.0", "::"):  # noqa: S104 - comparing, not binding
            host = "127.0.0.1"
        elif ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}"

    def callback_secrets(self) -> list[bytes]:
        """The global callback HMAC secrets, in the order given."""
        if self.ml_callback_hmac_secret is None:
            return []
        text = self.ml_callback_hmac_secret.get_secret_value()
        return [part.strip().encode() for part in text.split(",") if part.strip()]

    def resolved_secret_key(self) -> bytes:
        """The signing secret: the configured one, else one generated once into the data dir."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = self.data_dir / SECRET_KEY_FILE
        if not path.exists():
            private_dir(self.data_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()


_UNITS = {"": 1, "K": 1024, "M": 1024**2, "G": 1024**3, "T": 1024**4}


def parse_size(text: str) -> int | None:
    """Bytes in a size such as ``512M``, ``4G``, ``4GiB`` or ``1000000``; empty gives ``None``."""
    cleaned = text.strip().upper().removesuffix("IB").removesuffix("B")
    if not cleaned:
        return None
    unit = cleaned[-1] if cleaned[-1] in _UNITS else ""
    number = cleaned[: len(cleaned) - len(unit)].strip()
    try:
        size = float(number) * _UNITS[unit]
    except ValueError:
        raise ValueError(f"not a size: {text!r} (use e.g. 512M or 4G)") from None
    if size <= 0:
        raise ValueError(f"a size must be positive (got {text!r})")
    return int(size)


def parse_network(text: str) -> IPv4Network | IPv6Network:
    """A network in CIDR notation (``10.0.0.0/8``; an address alone is a one-address network)."""
    try:
        return ip_network(text.strip())
    except ValueError as exc:
        raise ValueError(
            f"outbound_allow_networks: {text.strip()!r} is not a network in CIDR notation such "
            f"as 10.0.0.0/8 or fd00::/8 ({exc})"
        ) from None
