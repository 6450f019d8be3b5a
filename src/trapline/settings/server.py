"""The server process's sections: the process itself, its logs, its HTTP side and its secrets."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from trapline.files import private_dir
from trapline.settings.base import Networks, Origins, Section

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


class ServerSettings(Section):
    """The platform process: its files, what runs in it, and its process-wide tuning."""

    #: Directory for the embedded database, local blob storage and the generated secret key.
    data_dir: Path = Path("./trapline-data")
    #: Run background duties (lease reaper, job recovery) in this server process; each duty
    #: still runs on one replica at a time.
    duties_enabled: bool = True
    #: Shortest lease on a duty, in seconds (a duty's lease is three of its intervals, or
    #: this): the longest a duty goes without a runner after its replica dies.
    duty_min_lease: float = Field(15.0, ge=1.0, le=3600)
    #: Run a worker for the built-in pipelines inside ``trapline up``.
    embedded_worker: bool = True
    #: Process-wide tuning that ``trapline serve`` and ``up`` apply once at start-up (never
    #: at import; ``trapline.cli.tuning``, docs/deploy.md). ``up`` applies it to its embedded
    #: worker's threads too.
    #: After start-up, move what exists (modules, app, routes) out of the garbage collector's
    #: reach, so full collections walk only what requests leave behind.
    gc_freeze: bool = True
    #: Seconds a thread may hold the GIL while another waits for it (Python's default: 0.005).
    switch_interval: float = Field(0.001, ge=0.0001, le=1.0)
    #: Largest piece Pillow allocates image pixels in; 0 keeps Pillow's own (16 MiB), and
    #: Pillow's PILLOW_BLOCK_SIZE variable wins when set.
    pillow_block_bytes: int = Field(64 * 1024 * 1024, ge=0, le=1024 * 1024 * 1024)


class LogSettings(Section):
    """How the server and the worker log."""

    #: Log level: DEBUG, INFO, WARNING, ERROR.
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        "INFO", validation_alias="TRAPLINE_LOG_LEVEL"
    )
    #: Log format: ``text`` for people, ``json`` for log collectors.
    format: Literal["text", "json"] = Field("text", validation_alias="TRAPLINE_LOG_FORMAT")


class HttpSettings(Section):
    """The server's HTTP side: where it listens and is reached, and what requests it takes."""

    #: Address the server binds to.
    host: str = "127.0.0.1"
    #: Port the server listens on.
    port: int = Field(8000, ge=0, le=65535)
    #: Public base URL of the server (``https://trapline.example.org``) used in links handed to
    #: workers; default: the URL the request came in on.
    public_url: str | None = None
    #: Event loop uvicorn serves on: ``auto`` (uvloop when installed), ``asyncio`` or ``uvloop``.
    event_loop: Literal["auto", "asyncio", "uvloop"] = "auto"
    #: FastAPI's OpenTelemetry traces, metrics and logs, sent to the providers the process
    #: configures (opentelemetry-instrument, say). Off, requests skip looking for them.
    opentelemetry: bool = False
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
    #: Claims (``/tasks/next/``, ``/jobs/{id}/tasks/``) one server process works on at once;
    #: more are answered 503 with Retry-After at once instead of queueing (results are never
    #: refused). Each claim in flight holds a thread and, briefly, a database connection.
    max_claims_in_flight: int = Field(64, ge=1, le=10_000)
    #: Offer the test pipelines (``trapline-constant``, ``trapline-random``) on the web app's
    #: job form; the API takes them either way.
    show_test_pipelines: bool = False

    @field_validator("public_url")
    @classmethod
    def _base_url(cls, value: str | None) -> str | None:
        """A base for links: an http(s) address with a host, and no user, query or fragment."""
        if not value:
            return None
        parts = urlsplit(value)
        try:
            parts.port  # noqa: B018 - reading it checks it
        except ValueError:
            raise ValueError(
                "its port is not a number from 0 to 65535 (use e.g. https://host:8443)"
            ) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(
                "not an http:// or https:// address (use e.g. https://trapline.example.org)"
            )
        if parts.username or parts.password or parts.query or parts.fragment:
            raise ValueError(
                "a base URL names no user, query or fragment (use e.g. https://host/path)"
            )
        return value

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


class SecuritySettings(Section):
    """The signing secret, and whom the server trusts and calls."""

    #: Secret used to sign blob URLs and lease tokens. Generated once and kept in
    #: ``<data_dir>/secret-key`` when not given; give the same value to every replica.
    secret_key: SecretStr | None = None
    #: Networks the server may call for anyone (comma-separated CIDRs such as
    #: ``10.0.0.0/8,fd00::/8``), although they are loopback, private or link-local. Empty: the
    #: server calls only public addresses, except for services an admin registered.
    outbound_allow_networks: Networks = Field(default_factory=list)
    #: Origins allowed by CORS (comma-separated or a JSON list); empty disables CORS headers.
    cors_origins: Origins = Field(default_factory=list)
    #: Reverse proxies whose ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed
    #: (comma-separated addresses or CIDRs, such as ``127.0.0.1``). Empty: no forwarded header
    #: is believed, and every client is the address that connected.
    trusted_proxies: Networks = Field(default_factory=list)
    #: Seconds a server process remembers a token's user and a worker's access to a running
    #: job; a token revoked or a membership removed through another replica stops working
    #: within this time. 0 reads the database on every call.
    access_cache_seconds: float = Field(5.0, ge=0, le=300)

    def resolved_secret_key(self, data_dir: Path) -> bytes:
        """The signing secret: the configured one, else one generated once into ``data_dir``."""
        if self.secret_key is not None:
            return self.secret_key.get_secret_value().encode()
        path = data_dir / SECRET_KEY_FILE
        if not path.exists():
            private_dir(data_dir)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
        return path.read_text().strip().encode()
