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
    defaults: dict[str, object] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "secret_key": "test-secret-key",
        "max_upload_bytes": 5 * 1024 * 1024,
        "max_request_bytes": 20 * 1024 * 1024,
        "duties_enabled": request.node.get_closest_marker("duties") is not None,
    }
    marked = request.node.get_closest_marker("settings")
    given = {**defaults, **fields, **(marked.kwargs if marked else {})}
    return Settings(**given, _env_file=None)  # type: ignore[arg-type]
