"""Every setting's variable names, and what each reads as: the contract the settings keep.

The rows were taken from the settings as they stood before they were arranged in sections (a
field is still named by its old flat keyword, which ``Settings(...)`` takes); a change of
arrangement must leave every variable name, parsed value and default as it is.
"""

from __future__ import annotations

import os
from ipaddress import IPv4Network, IPv6Network
from pathlib import Path

import pytest
from pydantic import SecretStr

from trapline.settings import Settings

#: (field, variable, text, value read, default): one row per variable name a field reads.
ROWS: list[tuple[str, str, str, object, object]] = [
    ("data_dir", "TRAPLINE_DATA_DIR", "/srv/trapline", "/srv/trapline", "trapline-data"),
    (
        "database_url",
        "TRAPLINE_DATABASE_URL",
        "postgres://u@h/db",
        "postgresql+psycopg://u@h/db",
        None,
    ),
    ("database_pool_size", "TRAPLINE_DATABASE_POOL_SIZE", "12", 12, 10),
    ("database_max_overflow", "TRAPLINE_DATABASE_MAX_OVERFLOW", "3", 3, 20),
    ("database_pool_timeout", "TRAPLINE_DATABASE_POOL_TIMEOUT", "2.5", 2.5, 10.0),
    ("sqlite_busy_timeout", "TRAPLINE_SQLITE_BUSY_TIMEOUT", "7", 7.0, 30.0),
    (
        "database_statement_timeout",
        "TRAPLINE_DATABASE_STATEMENT_TIMEOUT",
        "2.5",
        2.5,
        10.0,
    ),
    ("storage_url", "TRAPLINE_STORAGE_URL", "s3://bucket/prefix", "s3://bucket/prefix", None),
    (
        "s3_endpoint_url",
        "TRAPLINE_S3_ENDPOINT_URL",
        "http://127.0.0.1:9000",
        "http://127.0.0.1:9000",
        None,
    ),
    ("s3_region", "TRAPLINE_S3_REGION", "eu-west-1", "eu-west-1", "us-east-1"),
    (
        "queue_url",
        "TRAPLINE_QUEUE_URL",
        "nats://n1:4222,n2:4222?prefix=t",
        "nats://n1:4222,n2:4222?prefix=t",
        "sql",
    ),
    ("nats_reconcile_interval", "TRAPLINE_NATS_RECONCILE_INTERVAL", "7.5", 7.5, 15.0),
    ("secret_key", "TRAPLINE_SECRET_KEY", "s3cret", "s3cret", None),
    ("host", "TRAPLINE_HOST", "192.0.2.1", "192.0.2.1", "127.0.0.1"),
    ("port", "TRAPLINE_PORT", "9100", 9100, 8000),
    (
        "public_url",
        "TRAPLINE_PUBLIC_URL",
        "https://trapline.example.org/",
        "https://trapline.example.org/",
        None,
    ),
    ("max_upload_bytes", "TRAPLINE_MAX_UPLOAD_BYTES", "1000", 1000, 104857600),
    ("max_request_bytes", "TRAPLINE_MAX_REQUEST_BYTES", "5000", 5000, 1073741824),
    ("max_decode_bytes", "TRAPLINE_MAX_DECODE_BYTES", "33554432", 33554432, 134217728),
    ("max_concurrent_decodes", "TRAPLINE_MAX_CONCURRENT_DECODES", "3", 3, 2),
    ("access_cache_seconds", "TRAPLINE_ACCESS_CACHE_SECONDS", "0", 0.0, 5.0),
    ("max_claims_in_flight", "TRAPLINE_MAX_CLAIMS_IN_FLIGHT", "5", 5, 64),
    ("opentelemetry", "TRAPLINE_OPENTELEMETRY", "true", True, False),
    ("gc_freeze", "TRAPLINE_GC_FREEZE", "false", False, True),
    ("switch_interval", "TRAPLINE_SWITCH_INTERVAL", "0.01", 0.01, 0.001),
    ("event_loop", "TRAPLINE_EVENT_LOOP", "asyncio", "asyncio", "auto"),
    ("pillow_block_bytes", "TRAPLINE_PILLOW_BLOCK_BYTES", "0", 0, 67108864),
    ("signed_url_ttl", "TRAPLINE_SIGNED_URL_TTL", "60", 60, 3600),
    (
        "cors_origins",
        "TRAPLINE_CORS_ORIGINS",
        "https://a.example, https://b.example",
        ["https://a.example", "https://b.example"],
        [],
    ),
    ("duties_enabled", "TRAPLINE_DUTIES_ENABLED", "false", False, True),
    ("duty_min_lease", "TRAPLINE_DUTY_MIN_LEASE", "4", 4.0, 15.0),
    ("reaper_interval", "TRAPLINE_REAPER_INTERVAL", "2", 2.0, 5.0),
    ("push_concurrency", "TRAPLINE_PUSH_CONCURRENCY", "3", 3, 4),
    ("push_batch_size", "TRAPLINE_PUSH_BATCH_SIZE", "2", 2, 8),
    ("push_timeout", "TRAPLINE_PUSH_TIMEOUT", "9.5", 9.5, 120.0),
    ("status_interval", "TRAPLINE_STATUS_INTERVAL", "4", 4.0, 30.0),
    (
        "outbound_allow_networks",
        "TRAPLINE_OUTBOUND_ALLOW_NETWORKS",
        " 127.0.0.0/8, fd00::/8 ,10.1.2.3",
        ["127.0.0.0/8", "fd00::/8", "10.1.2.3/32"],
        [],
    ),
    (
        "trusted_proxies",
        "TRAPLINE_TRUSTED_PROXIES",
        "127.0.0.1, 10.0.0.0/8",
        ["127.0.0.1/32", "10.0.0.0/8"],
        [],
    ),
    ("embedded_worker", "TRAPLINE_EMBEDDED_WORKER", "0", False, True),
    ("export_ttl", "TRAPLINE_EXPORT_TTL", "600", 600, 604800),
    ("export_workers", "TRAPLINE_EXPORT_WORKERS", "2", 2, 1),
    ("export_processes", "TRAPLINE_EXPORT_PROCESSES", "4", 4, 2),
    (
        "sources_local_roots",
        "TRAPLINE_SOURCES_LOCAL_ROOTS",
        "/srv/a, /srv/b",
        ["/srv/a", "/srv/b"],
        [],
    ),
    ("sources_interval", "TRAPLINE_SOURCES_INTERVAL", "3", 3.0, 15.0),
    ("sources_concurrency", "TRAPLINE_SOURCES_CONCURRENCY", "5", 5, 2),
    ("sources_downloads", "TRAPLINE_SOURCES_DOWNLOADS", "6", 6, 4),
    ("sources_timeout", "TRAPLINE_SOURCES_TIMEOUT", "11", 11.0, 30.0),
    ("sources_run_limit", "TRAPLINE_SOURCES_RUN_LIMIT", "99", 99.0, 3600.0),
    ("sources_max_listing", "TRAPLINE_SOURCES_MAX_LISTING", "10", 10, 1000000),
    ("sources_lease_seconds", "TRAPLINE_SOURCES_LEASE_SECONDS", "8", 8.0, 60.0),
    ("ml_analysis_enabled", "TRAPLINE_ML_ANALYSIS_ENABLED", "false", False, True),
    ("ml_analysis_enabled", "ML_ANALYSIS_ENABLED", "false", False, True),
    ("ml_callback_hmac_secret", "TRAPLINE_ML_CALLBACK_HMAC_SECRET", "new, old", "new, old", None),
    ("ml_callback_hmac_secret", "ML_CALLBACK_HMAC_SECRET", "new, old", "new, old", None),
    ("ml_pipeline_require_hmac", "TRAPLINE_ML_PIPELINE_REQUIRE_HMAC", "false", False, True),
    ("ml_pipeline_require_hmac", "ML_PIPELINE_REQUIRE_HMAC", "false", False, True),
    ("ml_allowed_models", "TRAPLINE_ML_ALLOWED_MODELS", "a, b", ["a", "b"], []),
    ("ml_allowed_models", "ML_ALLOWED_MODELS", "a, b", ["a", "b"], []),
    ("ml_max_analyses_per_image", "TRAPLINE_ML_MAX_ANALYSES_PER_IMAGE", "7", 7, 50),
    ("ml_max_analyses_per_image", "ML_MAX_ANALYSES_PER_IMAGE", "7", 7, 50),
    ("ml_max_artifacts_per_analysis", "TRAPLINE_ML_MAX_ARTIFACTS_PER_ANALYSIS", "3", 3, 1000),
    ("ml_max_artifacts_per_analysis", "ML_MAX_ARTIFACTS_PER_ANALYSIS", "3", 3, 1000),
    ("ml_max_bulk_annotations", "TRAPLINE_ML_MAX_BULK_ANNOTATIONS", "100", 100, 5000),
    ("ml_max_bulk_annotations", "ML_MAX_BULK_ANNOTATIONS", "100", 100, 5000),
    ("ml_presigned_url_expiry_seconds", "TRAPLINE_ML_PRESIGNED_URL_EXPIRY_SECONDS", "60", 60, 900),
    ("ml_presigned_url_expiry_seconds", "ML_PRESIGNED_URL_EXPIRY_SECONDS", "60", 60, 900),
    ("ml_callback_max_skew_seconds", "TRAPLINE_ML_CALLBACK_MAX_SKEW_SECONDS", "30", 30, 300),
    ("ml_callback_max_skew_seconds", "ML_CALLBACK_MAX_SKEW_SECONDS", "30", 30, 300),
    ("ml_stuck_analysis_seconds", "TRAPLINE_ML_STUCK_ANALYSIS_SECONDS", "120", 120.0, 21600.0),
    ("ml_stuck_analysis_seconds", "ML_STUCK_ANALYSIS_SECONDS", "120", 120.0, 21600.0),
    (
        "api_url",
        "TRAPLINE_API_URL",
        "https://antenna.example.org/api/v2",
        "https://antenna.example.org/api/v2",
        "http://127.0.0.1:8000/api/v2",
    ),
    (
        "api_url",
        "AMI_ANTENNA_API_BASE_URL",
        "https://antenna.example.org/api/v2",
        "https://antenna.example.org/api/v2",
        "http://127.0.0.1:8000/api/v2",
    ),
    ("token", "TRAPLINE_TOKEN", "tok", "tok", None),
    ("token", "AMI_ANTENNA_API_AUTH_TOKEN", "tok", "tok", None),
    ("batch_size", "TRAPLINE_BATCH_SIZE", "4", 4, 16),
    ("batch_size", "AMI_ANTENNA_API_BATCH_SIZE", "4", 4, 16),
    ("pipelines", "TRAPLINE_PIPELINES", "moth-blobs, quarter", ["moth-blobs", "quarter"], []),
    ("pipeline_files", "TRAPLINE_PIPELINE_FILES", "a.yaml,b.yaml", ["a.yaml", "b.yaml"], []),
    ("worker_name", "TRAPLINE_WORKER_NAME", "w1", "w1", None),
    ("burst", "TRAPLINE_BURST", "true", True, False),
    ("max_memory", "TRAPLINE_MAX_MEMORY", "4G", 4294967296, None),
    ("max_image_bytes", "TRAPLINE_MAX_IMAGE_BYTES", "123", 123, 209715200),
    ("max_decode_pixels", "TRAPLINE_MAX_DECODE_PIXELS", "2000000", 2000000, 100000000),
    ("download_threads", "TRAPLINE_DOWNLOAD_THREADS", "3", 3, 8),
    ("drain_timeout", "TRAPLINE_DRAIN_TIMEOUT", "5", 5.0, 60.0),
    ("register_every", "TRAPLINE_REGISTER_EVERY", "30", 30.0, 10.0),
    ("request_timeout", "TRAPLINE_REQUEST_TIMEOUT", "6", 6.0, 60.0),
    (
        "weights_cache_dir",
        "TRAPLINE_WEIGHTS_CACHE_DIR",
        "/srv/weights",
        "/srv/weights",
        "~/.cache/trapline/weights",
    ),
    ("log_level", "TRAPLINE_LOG_LEVEL", "DEBUG", "DEBUG", "INFO"),
    ("log_format", "TRAPLINE_LOG_FORMAT", "json", "json", "text"),
]

#: Where each field lives now that the settings are in sections.
SECTION_PATHS = {
    "data_dir": "server.data_dir",
    "duties_enabled": "server.duties_enabled",
    "duty_min_lease": "server.duty_min_lease",
    "embedded_worker": "server.embedded_worker",
    "gc_freeze": "server.gc_freeze",
    "switch_interval": "server.switch_interval",
    "pillow_block_bytes": "server.pillow_block_bytes",
    "log_level": "logs.level",
    "log_format": "logs.format",
    "host": "http.host",
    "port": "http.port",
    "public_url": "http.public_url",
    "event_loop": "http.event_loop",
    "opentelemetry": "http.opentelemetry",
    "max_upload_bytes": "http.max_upload_bytes",
    "max_request_bytes": "http.max_request_bytes",
    "max_decode_bytes": "http.max_decode_bytes",
    "max_concurrent_decodes": "http.max_concurrent_decodes",
    "max_claims_in_flight": "http.max_claims_in_flight",
    "secret_key": "security.secret_key",
    "outbound_allow_networks": "security.outbound_allow_networks",
    "cors_origins": "security.cors_origins",
    "trusted_proxies": "security.trusted_proxies",
    "access_cache_seconds": "security.access_cache_seconds",
    "database_url": "db.url",
    "database_pool_size": "db.pool_size",
    "database_max_overflow": "db.max_overflow",
    "database_pool_timeout": "db.pool_timeout",
    "database_statement_timeout": "db.statement_timeout",
    "sqlite_busy_timeout": "db.sqlite_busy_timeout",
    "storage_url": "storage.url",
    "s3_endpoint_url": "storage.s3_endpoint_url",
    "s3_region": "storage.s3_region",
    "signed_url_ttl": "storage.signed_url_ttl",
    "queue_url": "queue.url",
    "nats_reconcile_interval": "queue.nats_reconcile_interval",
    "reaper_interval": "queue.reaper_interval",
    "push_concurrency": "push.concurrency",
    "push_batch_size": "push.batch_size",
    "push_timeout": "push.timeout",
    "status_interval": "push.status_interval",
    "export_ttl": "exports.ttl",
    "export_workers": "exports.workers",
    "export_processes": "exports.processes",
    "sources_local_roots": "sources.local_roots",
    "sources_interval": "sources.interval",
    "sources_concurrency": "sources.concurrency",
    "sources_downloads": "sources.downloads",
    "sources_timeout": "sources.timeout",
    "sources_run_limit": "sources.run_limit",
    "sources_max_listing": "sources.max_listing",
    "sources_lease_seconds": "sources.lease_seconds",
    "ml_analysis_enabled": "callbacks.enabled",
    "ml_callback_hmac_secret": "callbacks.hmac_secret",
    "ml_pipeline_require_hmac": "callbacks.require_hmac",
    "ml_allowed_models": "callbacks.allowed_models",
    "ml_max_analyses_per_image": "callbacks.max_analyses_per_image",
    "ml_max_artifacts_per_analysis": "callbacks.max_artifacts_per_analysis",
    "ml_max_bulk_annotations": "callbacks.max_bulk_annotations",
    "ml_presigned_url_expiry_seconds": "callbacks.presigned_url_expiry_seconds",
    "ml_callback_max_skew_seconds": "callbacks.max_skew_seconds",
    "ml_stuck_analysis_seconds": "callbacks.stuck_analysis_seconds",
    "api_url": "worker.api_url",
    "token": "worker.token",
    "batch_size": "worker.batch_size",
    "pipelines": "worker.pipelines",
    "pipeline_files": "worker.pipeline_files",
    "worker_name": "worker.name",
    "burst": "worker.burst",
    "max_memory": "worker.max_memory",
    "max_image_bytes": "worker.max_image_bytes",
    "max_decode_pixels": "worker.max_decode_pixels",
    "download_threads": "worker.download_threads",
    "drain_timeout": "worker.drain_timeout",
    "register_every": "worker.register_every",
    "request_timeout": "worker.request_timeout",
    "weights_cache_dir": "worker.weights_cache_dir",
}

PREFIXES = ("TRAPLINE_", "ML_", "AMI_ANTENNA_")


def _plain(value: object) -> object:
    """A value as the rows write it: secrets revealed, paths and networks as text."""
    if isinstance(value, SecretStr):
        return value.get_secret_value()
    if isinstance(value, Path | IPv4Network | IPv6Network):
        return str(value)
    if isinstance(value, list):
        return [_plain(item) for item in value]
    return value


def _read(settings: Settings, field: str) -> object:
    section, name = SECTION_PATHS[field].split(".")
    return _plain(getattr(getattr(settings, section), name))


def _default(value: object) -> object:
    return str(Path(value).expanduser()) if isinstance(value, str) and value[:1] == "~" else value


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No variable of ours and no ``.env`` but the test's own."""
    for name in os.environ:
        if name.upper().startswith(PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)


def test_the_rows_cover_every_field() -> None:
    fields = {field for field, *_ in ROWS}
    assert len(fields) == 77
    assert set(SECTION_PATHS) == fields
    defaults = Settings(_env_file=None)
    for field, _, _, _, default in ROWS:
        assert _read(defaults, field) == _default(default), field


@pytest.mark.parametrize(("field", "variable", "text", "value", "default"), ROWS)
def test_each_variable_reads_as_before(
    monkeypatch: pytest.MonkeyPatch,
    field: str,
    variable: str,
    text: str,
    value: object,
    default: object,
) -> None:
    monkeypatch.setenv(variable, text)
    assert _read(Settings(_env_file=None), field) == value
    monkeypatch.delenv(variable)
    monkeypatch.setenv(variable.lower(), text)  # names are not case-sensitive
    assert _read(Settings(_env_file=None), field) == value


@pytest.mark.parametrize("alias", [False, True], ids=["trapline-names", "other-names"])
def test_a_dotenv_file_reads_every_variable(tmp_path: Path, alias: bool) -> None:
    first: dict[str, str] = {}
    for field, variable, *_ in ROWS:
        first.setdefault(field, variable)
    rows = [row for row in ROWS if (first[row[0]] != row[1]) is alias]
    (tmp_path / ".env").write_text("".join(f"{v}='{text}'\n" for _, v, text, _, _ in rows))
    from_file = Settings()
    ignored = Settings(_env_file=None)
    for field, _, _, value, default in rows:
        assert _read(from_file, field) == value, field
        assert _read(ignored, field) == _default(default), field


def test_flat_keywords_set_each_field() -> None:
    for field, _, text, value, _ in ROWS:
        assert _read(Settings(_env_file=None, **{field: text}), field) == value, field


def test_cors_origins_also_read_a_json_list(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAPLINE_CORS_ORIGINS", '["https://a.example", "https://b.example"]')
    assert _read(Settings(_env_file=None), "cors_origins") == [
        "https://a.example",
        "https://b.example",
    ]


def test_a_trapline_name_beats_the_other_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AMI_ANTENNA_API_BATCH_SIZE", "4")
    monkeypatch.setenv("ML_MAX_BULK_ANNOTATIONS", "100")
    monkeypatch.setenv("TRAPLINE_BATCH_SIZE", "32")
    monkeypatch.setenv("TRAPLINE_ML_MAX_BULK_ANNOTATIONS", "200")
    settings = Settings(_env_file=None)
    assert (_read(settings, "batch_size"), _read(settings, "ml_max_bulk_annotations")) == (32, 200)
