"""Settings that cannot be used are refused in one line that names the variable and what is
wrong: from the environment, from keywords, and in ``Settings.updated``; and ``trapline``
itself prints that line rather than a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.processes import clean_env
from trapline.settings import Settings


def _refusal(monkeypatch: pytest.MonkeyPatch, variable: str, value: str) -> str:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ValueError, match=variable) as refused:
        Settings(_env_file=None)
    message = str(refused.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("inf", "TRAPLINE_MAX_MEMORY: not a size: 'inf' (use e.g. 512M or 4G)"),
        ("nan", "TRAPLINE_MAX_MEMORY: not a size: 'nan' (use e.g. 512M or 4G)"),
        ("1e999G", "TRAPLINE_MAX_MEMORY: not a size: '1e999G' (use e.g. 512M or 4G)"),
        ("0.5", "TRAPLINE_MAX_MEMORY: a size must be at least 1 byte (got '0.5')"),
        ("-4G", "TRAPLINE_MAX_MEMORY: a size must be at least 1 byte (got '-4G')"),
    ],
    ids=["infinite", "nan", "overflowing", "half-a-byte", "negative"],
)
def test_a_memory_size_that_is_no_number_of_bytes_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    assert _refusal(monkeypatch, "TRAPLINE_MAX_MEMORY", value) == message


def test_half_a_kilobyte_is_a_size() -> None:
    assert Settings(_env_file=None, max_memory="0.5K").worker.max_memory == 512


NETWORKS = ["TRAPLINE_TRUSTED_PROXIES", "TRAPLINE_OUTBOUND_ALLOW_NETWORKS"]


@pytest.mark.parametrize("variable", NETWORKS)
def test_a_bad_network_is_told_under_its_own_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    message = _refusal(monkeypatch, variable, "10.0.0.0/8, proxy.example")
    assert message.startswith(
        f"{variable}: 'proxy.example' is not a network in CIDR notation such as 10.0.0.0/8"
    )
    (other,) = set(NETWORKS) - {variable}
    assert other not in message
    assert "outbound_allow_networks" not in message


def test_a_value_read_from_another_name_is_told_under_both(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    message = _refusal(monkeypatch, "AMI_ANTENNA_API_BATCH_SIZE", "0")
    assert message == (
        "TRAPLINE_BATCH_SIZE or AMI_ANTENNA_API_BATCH_SIZE: Input should be greater than or "
        "equal to 1 (got '0')"
    )


def test_updated_checks_each_value_as_its_variable_is_checked() -> None:
    settings = Settings(_env_file=None)
    changed = settings.updated(
        max_memory="1G", trusted_proxies="10.0.0.0/8", database_url="postgres://u@h/db"
    )
    assert changed.worker.max_memory == 1024**3
    assert [str(n) for n in changed.security.trusted_proxies] == ["10.0.0.0/8"]
    assert changed.db.url == "postgresql+psycopg://u@h/db"
    assert settings.worker.max_memory is None  # the original is left as it was
    for keywords, message in (
        ({"max_memory": "inf"}, "TRAPLINE_MAX_MEMORY: not a size: 'inf'"),
        ({"port": 70000}, "TRAPLINE_PORT: Input should be less than or equal to 65535"),
        ({"trusted_proxies": "nope"}, "TRAPLINE_TRUSTED_PROXIES: 'nope' is not a network"),
    ):
        with pytest.raises(ValueError, match=f"^{message}"):
            settings.updated(**keywords)


def test_a_keyword_that_names_no_setting_is_refused_saying_what_a_keyword_is() -> None:
    message = (
        "no setting is called 'max_memroy': a setting's keyword is its variable's name without "
        "TRAPLINE_, in lower case (database_url for TRAPLINE_DATABASE_URL)"
    )
    with pytest.raises(ValueError, match="no setting is called") as refused:
        Settings(_env_file=None).updated(max_memroy="1G")
    assert str(refused.value) == message
    with pytest.raises(ValueError, match="no setting is called") as refused:
        Settings(_env_file=None, max_memroy="1G")
    assert str(refused.value) == message


DATABASE_URLS = "use sqlite:///path/to/trapline.db or postgresql://user@host:5432/database"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("mysql://ana@db.example/trap", f"trapline does not run on 'mysql' ({DATABASE_URLS})"),
        (
            "postgresql+psycopg2://ana@db.example/trap",
            f"trapline does not run on 'postgresql+psycopg2' ({DATABASE_URLS})",
        ),
        # Without a scheme the value is not repeated: it may hold a password.
        ("ana:secret@db.example/trap", f"not a database URL: it names no scheme ({DATABASE_URLS})"),
    ],
    ids=["another-database", "another-driver", "no-scheme"],
)
def test_a_database_url_trapline_cannot_use_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    assert _refusal(monkeypatch, "TRAPLINE_DATABASE_URL", value) == (
        f"TRAPLINE_DATABASE_URL: {message}"
    )


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("postgres://ana@db.example/trap", "postgresql+psycopg://ana@db.example/trap"),
        ("postgresql://ana@db.example/trap", "postgresql+psycopg://ana@db.example/trap"),
        ("postgresql+psycopg://ana@db.example/trap", "postgresql+psycopg://ana@db.example/trap"),
        ("sqlite:////srv/trapline.db", "sqlite:////srv/trapline.db"),
    ],
)
def test_the_database_urls_trapline_runs_on_are_kept(value: str, kept: str) -> None:
    assert Settings(_env_file=None, database_url=value).db.url == kept


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("trapline.example.org", "not an http:// or https:// address"),
        ("ftp://trapline.example.org", "not an http:// or https:// address"),
        ("https://trapline.example.org:99999", "its port is not a number from 0 to 65535"),
        ("https://ana:secret@trapline.example.org", "a base URL names no user, query or fragment"),
        ("https://trapline.example.org/?next=1", "a base URL names no user, query or fragment"),
    ],
    ids=["no-scheme", "ftp", "port", "password", "query"],
)
def test_a_public_url_that_cannot_start_a_link_is_refused(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:
    refusal = _refusal(monkeypatch, "TRAPLINE_PUBLIC_URL", value)
    assert refusal.startswith(f"TRAPLINE_PUBLIC_URL: {message} (use e.g. "), refusal
    assert "secret" not in refusal


@pytest.mark.parametrize(
    "value", ["https://trapline.example.org/", "http://[::1]:8000/trap", "http://10.0.0.5:8000"]
)
def test_public_urls_that_start_links_are_kept(value: str) -> None:
    settings = Settings(_env_file=None, public_url=value)
    assert settings.http.public_base_url == value.rstrip("/")


def test_trapline_prints_the_line_and_exits_2(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "trapline.cli", "worker", "--burst"],
        env=clean_env(TRAPLINE_MAX_MEMORY="inf"),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().splitlines() == [
        "error: invalid settings: TRAPLINE_MAX_MEMORY: not a size: 'inf' (use e.g. 512M or 4G)"
    ]
