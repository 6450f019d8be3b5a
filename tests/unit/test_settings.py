"""Settings: defaults, variables, URL forms, the generated secret, and the README table."""

from __future__ import annotations

import inspect
import stat
from pathlib import Path

import pytest

from trapline.settings import Settings, sections, variable_names

README = Path(__file__).resolve().parents[2] / "README.md"


def test_postgres_url_forms_are_both_accepted() -> None:
    for url in ("postgresql://u@h/db", "postgresql+psycopg://u@h/db", "postgres://u@h/db"):
        assert Settings(database_url=url, _env_file=None).db.url == "postgresql+psycopg://u@h/db"


def test_defaults_live_in_the_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, _env_file=None)
    assert (
        settings.db.resolved_url(settings.server.data_dir)
        == f"sqlite:///{tmp_path / 'trapline.db'}"
    )
    assert settings.storage.resolved_url(settings.server.data_dir) == (tmp_path / "blobs").as_uri()
    assert settings.queue.url == "sql"


def test_variables_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / ".env").write_text("TRAPLINE_PORT=9100\nTRAPLINE_LOG_FORMAT=json\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRAPLINE_PORT", "9200")
    monkeypatch.setenv("TRAPLINE_CORS_ORIGINS", "https://a.example, https://b.example")
    settings = Settings()
    assert settings.http.port == 9200  # the variable beats .env
    assert settings.logs.format == "json"
    assert settings.security.cors_origins == ["https://a.example", "https://b.example"]


def test_secret_key_is_generated_once_and_private(tmp_path: Path) -> None:
    first = Settings(data_dir=tmp_path, _env_file=None).security.resolved_secret_key(tmp_path)
    second = Settings(data_dir=tmp_path, _env_file=None).security.resolved_secret_key(tmp_path)
    assert first == second
    assert len(first) >= 40
    assert stat.S_IMODE((tmp_path / "secret-key").stat().st_mode) == 0o600
    given = Settings(secret_key="abc", _env_file=None).security.resolved_secret_key(tmp_path)
    assert given == b"abc"


def test_every_setting_is_documented() -> None:
    """Each field has a ``#:`` comment, and the README's table row of its variable names the
    section and field it is read into."""
    readme = README.read_text().splitlines()
    for section_name, section in sections().items():
        text = inspect.getsource(section)
        for name, field in section.model_fields.items():
            variable = variable_names(name, field)[0]
            rows = [line for line in readme if line.startswith(f"| `{variable}`")]
            assert rows, f"README lacks {variable}"
            assert f"`{section_name}.{name}`" in rows[0], (
                f"README: {variable} is not in {section_name}"
            )
            declaration = f"    {name}:"
            before = text[: text.index(declaration)].rstrip().splitlines()[-1].strip()
            assert before.startswith("#:"), f"{section_name}.{name} has no #: comment"


def test_invalid_values_are_refused() -> None:
    with pytest.raises(
        ValueError, match="TRAPLINE_PORT: Input should be less than or equal to 65535"
    ):
        Settings(port=70000, _env_file=None)


def test_the_worker_reads_the_ami_data_companion_variables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AMI_ANTENNA_API_BASE_URL", "https://antenna.example.org/api/v2")
    monkeypatch.setenv("AMI_ANTENNA_API_AUTH_TOKEN", "ami-secret")
    monkeypatch.setenv("AMI_ANTENNA_API_BATCH_SIZE", "4")
    settings = Settings(_env_file=None)
    assert settings.worker.api_url == "https://antenna.example.org/api/v2"
    assert settings.worker.token is not None
    assert settings.worker.token.get_secret_value() == "ami-secret"
    assert settings.worker.batch_size == 4
    # trapline's own names win when both are set
    monkeypatch.setenv("TRAPLINE_BATCH_SIZE", "32")
    assert Settings(_env_file=None).worker.batch_size == 32


def test_unprefixed_variables_are_not_the_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    """``trapline up`` suggests ``export TOKEN=<admin token>``: a worker started in that shell
    must not pick the admin token up."""
    monkeypatch.setenv("TOKEN", "admin-secret")
    monkeypatch.setenv("API_URL", "https://elsewhere.example.org")
    monkeypatch.setenv("BATCH_SIZE", "7")
    settings = Settings(_env_file=None)
    assert settings.worker.token is None
    assert settings.worker.api_url == "http://127.0.0.1:8000/api/v2"
    assert settings.worker.batch_size == 16
    # In code the fields are still set by name.
    named = Settings(_env_file=None, token="t", api_url="http://x/api/v2", batch_size=3)
    assert named.worker.token is not None
    assert (
        named.worker.token.get_secret_value(),
        named.worker.api_url,
        named.worker.batch_size,
    ) == (
        "t",
        "http://x/api/v2",
        3,
    )


@pytest.mark.parametrize(
    ("text", "size"),
    [("512M", 512 * 1024**2), ("4G", 4 * 1024**3), ("4GiB", 4 * 1024**3), ("1000", 1000)],
)
def test_memory_sizes_are_parsed(monkeypatch: pytest.MonkeyPatch, text: str, size: int) -> None:
    monkeypatch.setenv("TRAPLINE_MAX_MEMORY", text)
    assert Settings(_env_file=None).worker.max_memory == size


def test_a_bad_memory_size_is_refused_with_a_hint(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TRAPLINE_MAX_MEMORY", "lots")
    with pytest.raises(ValueError, match=r"use e\.g\. 512M or 4G"):
        Settings(_env_file=None)


def test_the_callback_api_reads_the_guides_variable_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ML_ANALYSIS_ENABLED", "false")
    monkeypatch.setenv("ML_CALLBACK_HMAC_SECRET", "new, old")
    monkeypatch.setenv("ML_PIPELINE_REQUIRE_HMAC", "false")
    monkeypatch.setenv("ML_ALLOWED_MODELS", "a,b")
    monkeypatch.setenv("ML_MAX_ANALYSES_PER_IMAGE", "7")
    monkeypatch.setenv("ML_MAX_BULK_ANNOTATIONS", "100")
    monkeypatch.setenv("ML_PRESIGNED_URL_EXPIRY_SECONDS", "60")
    settings = Settings(_env_file=None)
    assert settings.callbacks.enabled is False
    assert settings.callbacks.hmac_secrets() == [b"new", b"old"]
    assert settings.callbacks.require_hmac is False
    assert settings.callbacks.allowed_models == ["a", "b"]
    assert settings.callbacks.max_analyses_per_image == 7
    assert settings.callbacks.max_bulk_annotations == 100
    assert settings.callbacks.presigned_url_expiry_seconds == 60
    monkeypatch.setenv("TRAPLINE_ML_MAX_BULK_ANNOTATIONS", "200")
    monkeypatch.delenv("ML_MAX_BULK_ANNOTATIONS")
    assert Settings(_env_file=None).callbacks.max_bulk_annotations == 200
