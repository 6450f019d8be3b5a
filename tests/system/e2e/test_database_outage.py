"""The task queue's database goes away under a running server: workers get 503 with
Retry-After (never a hang or a 500), and the server carries on when the database is back."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from tests.support.databases import PostgresDatabases, require_postgres
from tests.support.processes import clean_env, running
from tests.support.protocol import http_client, wait_for_status
from tests.support.proxy import TcpProxy
from tests.support.workers import prepared_account, project_with_images, start_job

pytestmark = pytest.mark.slow

SLUG = "outage-pipeline"
#: Longest a refused claim may take: the connect timeout of a dead database and a little.
ANSWER_WITHIN = 12.0


def _running_job(client: httpx.Client) -> int:
    project_id, _ = project_with_images(client, 6, name="outage")
    job_id = start_job(client, project_id, SLUG, lease_seconds=600)
    wait_for_status(client.get, job_id, {"running"}, {})
    return job_id


def _claim(client: httpx.Client, job_id: int) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    answer = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 1})
    return answer, time.monotonic() - started


def _assert_unavailable(answer: httpx.Response, took: float) -> None:
    assert answer.status_code == 503, answer.text
    assert int(answer.headers["retry-after"]) >= 1
    body = answer.json()
    assert set(body) == {"detail", "code"}
    assert "retry" in body["detail"]
    assert took < ANSWER_WITHIN


@pytest.mark.postgres
def test_postgres_cut_off_then_back(tmp_path: Path, postgres_databases: PostgresDatabases) -> None:
    require_postgres()
    direct = postgres_databases.new()
    url = make_url(direct)
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    proxy.restore()
    through_proxy = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    env = clean_env(
        TRAPLINE_DATA_DIR=str(tmp_path / "data"),
        TRAPLINE_DATABASE_URL=through_proxy,
        TRAPLINE_DATABASE_POOL_TIMEOUT="2",
    )
    try:
        token = prepared_account(env, "outage@example.org")
        with running(["serve"], cwd=tmp_path, env=env) as server:
            client = http_client(server.url, token)
            job_id = _running_job(client)
            answer, _ = _claim(client, job_id)
            assert len(answer.json()["tasks"]) == 1

            proxy.cut()
            answer, took = _claim(client, job_id)
            _assert_unavailable(answer, took)
            assert httpx.get(f"{server.url}/readyz", timeout=ANSWER_WITHIN).status_code == 503

            proxy.restore()
            deadline = time.monotonic() + 20
            while True:  # the pool replaces its dead connections on the next checkouts
                answer, _ = _claim(client, job_id)
                if answer.status_code == 200 or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert answer.status_code == 200, answer.text
            assert len(answer.json()["tasks"]) == 1
            client.close()
    finally:
        proxy.cut()
        postgres_databases.drop(direct)


def test_sqlite_locked_then_released(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = clean_env(TRAPLINE_DATA_DIR=str(data), TRAPLINE_SQLITE_BUSY_TIMEOUT="1")
    token = prepared_account(env, "outage@example.org")
    with running(["serve"], cwd=tmp_path, env=env) as server:
        client = http_client(server.url, token)
        job_id = _running_job(client)
        assert len(_claim(client, job_id)[0].json()["tasks"]) == 1

        # Another process holds the write lock (a stuck backup, a long manual session...).
        blocker = sqlite3.connect(data / "trapline.db", isolation_level=None)
        blocker.execute("BEGIN EXCLUSIVE")
        try:
            answer, took = _claim(client, job_id)
            _assert_unavailable(answer, took)
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()

        answer, _ = _claim(client, job_id)
        assert answer.status_code == 200, answer.text
        assert len(answer.json()["tasks"]) == 1
        client.close()
