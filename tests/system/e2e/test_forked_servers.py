"""The servers the tests fork (``tests/support/forks.py``) run as ``trapline`` would: in their
own folder and environment, their output in their log, their exit code told."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.forks import Forked
from tests.support.processes import clean_env, running


def test_a_forked_server_takes_its_folder_and_environment_and_exits_on_a_signal(
    tmp_path: Path,
) -> None:
    env = clean_env(TRAPLINE_DATA_DIR="data", TRAPLINE_LOG_FORMAT="json")
    with running(["serve"], cwd=tmp_path, env=env) as server:
        assert isinstance(server.process, Forked)
        assert server.process.poll() is None
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        # The data folder is relative: it is in the server's folder, not the helper's.
        assert (tmp_path / "data" / "trapline.db").is_file()
        code = server.stop(signal.SIGINT)
    assert code == 0
    assert server.process.returncode == 0
    logged = [json.loads(line) for line in server.log().splitlines() if line.startswith("{")]
    assert any("schema" in entry["message"] for entry in logged), server.log()


def test_a_forked_server_that_cannot_start_says_why_and_its_code(tmp_path: Path) -> None:
    env = clean_env(TRAPLINE_DATABASE_URL="mysql://nobody@127.0.0.1/none")
    refused = pytest.raises(AssertionError, match="server exited with 2")
    with refused as failed, running(["serve"], cwd=tmp_path, env=env):
        pass
    assert "error: invalid settings: TRAPLINE_DATABASE_URL: trapline does not run on 'mysql'" in (
        str(failed.value)
    )
