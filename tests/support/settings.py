"""Settings of the tests: on the test's database and files, background duties off."""

from __future__ import annotations

from pathlib import Path

import pytest

from trapline.settings import Settings


def make_settings(
    request: pytest.FixtureRequest, tmp_path: Path, database_url: str, **fields: object
) -> Settings:
    """Test settings on the test's database, with ``fields`` on top, and on top of them those a
    ``settings(**fields)`` mark of the test or its module gives. The background duties are off
    (a test calls what it needs itself) unless the test is marked ``duties``."""
    marked = request.node.get_closest_marker("settings")
    duties = request.node.get_closest_marker("duties") is not None
    given = {"duties_enabled": duties, **fields, **(marked.kwargs if marked else {})}
    return settings_for_tests(tmp_path / "data", database_url, **given)


def settings_for_tests(data_dir: Path, database_url: str, **fields: object) -> Settings:
    """The tests' settings on a database and data folder, with ``fields`` on top: background
    duties off unless ``duties_enabled`` says otherwise."""
    defaults: dict[str, object] = {
        "data_dir": data_dir,
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "max_upload_bytes": 5 * 1024 * 1024,
        "max_request_bytes": 20 * 1024 * 1024,
        "duties_enabled": False,
    }
    return Settings(**{**defaults, **fields}, _env_file=None)  # type: ignore[arg-type]
