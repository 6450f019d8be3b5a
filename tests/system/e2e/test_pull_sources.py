"""Pull sources with real server processes: a replica SIGKILLed mid-run, and a source whose
new images the embedded worker of ``trapline up`` processes end to end."""

from __future__ import annotations

import itertools
import signal
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, text

from tests.support.databases import PostgresDatabases
from tests.support.processes import running
from tests.support.slow_site import slow_site
from tests.support.waiting import wait_until
from tests.support.workers import live_platform
from trapline.imaging.synthetic import light_trap_jpeg

pytestmark = [pytest.mark.slow, pytest.mark.timeout(180)]

#: Seconds a test waits for what a server does in the background.
WAIT = 90.0


def rows(url: str, sql: str) -> list[tuple[Any, ...]]:
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.connect() as connection:
            return [tuple(r) for r in connection.execute(text(sql))]
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_a_replica_killed_mid_run_leaves_nothing_imported_twice(
    tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    settings = {
        "OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8",
        "SOURCES_LEASE_SECONDS": "3",
        "SOURCES_INTERVAL": "0.5",
        "SOURCES_DOWNLOADS": "2",
    }
    killed = threading.Event()
    downloads = itertools.count()

    # Two batches of eight (SOURCES_DOWNLOADS, INGEST_BATCH) come quickly; the rest wait until
    # the replica is killed, so it dies mid-run.
    def taking() -> None:
        if next(downloads) >= 16:
            killed.wait(60)

    with (
        slow_site(24, taking=taking) as site,
        live_platform("postgres", tmp_path, postgres_databases, **settings) as first,
    ):
        db = first.env["TRAPLINE_DATABASE_URL"]
        with first.client() as api:
            project = api.post("/api/v2/projects/", json={"name": "p"}).json()["id"]
            source = api.post(
                f"/api/v2/projects/{project}/sources",
                json={"name": "station", "kind": "http_directory", "url": site.url},
            ).json()["id"]
            doomed = api.post(f"/api/v2/sources/{source}/run").json()["id"]
        wait_until(
            lambda: rows(db, "SELECT count(*) FROM images")[0][0] >= 4,
            lambda: f"no images came in: {first.server.log()}",
            timeout=WAIT,
        )
        first.server.process.send_signal(signal.SIGKILL)
        assert first.server.process.wait(20) == -signal.SIGKILL
        killed.set()
        before = rows(db, "SELECT count(*) FROM images")[0][0]
        assert before < 24, "the run ended before the replica was killed: slow the site down"

        with running(["serve"], cwd=tmp_path, env=first.env) as second:
            headers = {"Authorization": f"Token {first.token}"}

            def finished() -> Any:
                runs = httpx.get(
                    f"{second.url}/api/v2/sources/{source}/runs", headers=headers
                ).json()["results"]
                ended = [r for r in runs if r["id"] != doomed and r["status"] == "succeeded"]
                return runs if ended else None

            runs = wait_until(finished, lambda: f"no run took over: {second.log()}", timeout=WAIT)
        by_id = {r["id"]: r for r in runs}
        assert by_id[doomed]["status"] == "interrupted"
        images, distinct = rows(db, "SELECT count(*), count(DISTINCT filename) FROM images")[0]
        assert images == distinct == 24  # every file exactly once
        items = rows(db, "SELECT status, count(*) FROM pull_source_items GROUP BY status")
        assert sum(n for _, n in items) == 24
        assert {status for status, _ in items} <= {"imported", "duplicate"}
        linked = rows(db, "SELECT count(DISTINCT image_id) FROM pull_source_items")[0][0]
        assert linked == 24


def test_new_images_of_a_source_with_a_pipeline_are_processed(tmp_path: Path) -> None:
    photos = tmp_path / "station"
    (photos / "2024-06-21").mkdir(parents=True)
    for n in range(4):
        data = light_trap_jpeg(n, width=320, height=240, insects=3)
        (photos / "2024-06-21" / f"2024062122{n:02d}00.jpg").write_bytes(data)
    data_dir = tmp_path / "data"
    env_settings = {"TRAPLINE_SOURCES_LOCAL_ROOTS": str(tmp_path)}
    from tests.support.processes import clean_env

    with running(
        ["up", "--data-dir", str(data_dir)], cwd=tmp_path, env=clean_env(**env_settings)
    ) as server:
        token = (data_dir / "admin-token").read_text().strip()
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Token {token}"}) as api:
            project = api.post("/api/v2/projects/", json={"name": "auto"}).json()["id"]
            wait_until(
                lambda: any(
                    p["slug"] == "moth-blobs"
                    for p in api.get(f"/api/v2/projects/{project}/pipelines").json()["results"]
                ),
                lambda: f"the embedded worker registered no pipeline: {server.log()}",
                timeout=WAIT,
            )
            made = api.post(
                f"/api/v2/projects/{project}/sources",
                json={"name": "trap", "kind": "local", "url": str(photos), "depth": 1,
                      "pipeline": "moth-blobs"},
            )  # fmt: skip
            assert made.status_code == 201, made.text
            source = made.json()["id"]
            run_id = api.post(f"/api/v2/sources/{source}/run").json()["id"]

            def ended() -> Any:
                run = api.get(f"/api/v2/sources/{source}/runs/{run_id}").json()
                return run if run["status"] not in ("queued", "running") else None

            run = wait_until(ended, lambda: f"the run did not end: {server.log()}", timeout=WAIT)
            assert run["status"] == "succeeded", run
            assert run["imported"] == 4
            assert run["job_id"] is not None

            def job_done() -> Any:
                job = api.get(f"/api/v2/jobs/{run['job_id']}").json()
                return (
                    job
                    if job["status"] in ("succeeded", "failed", "completed_with_errors")
                    else None
                )

            job = wait_until(job_done, lambda: f"the job did not end: {server.log()}", timeout=WAIT)
            assert job["status"] == "succeeded", job
            assert job["counts"]["succeeded"] == 4
            found = api.get(
                f"/api/v2/projects/{project}/annotations", params={"type": "bounding_box"}
            ).json()
            assert found["count"] >= 4


def test_the_sources_command_adds_lists_and_runs_a_source(
    tmp_path: Path, postgres_databases: PostgresDatabases
) -> None:
    import json
    import subprocess

    from tests.support.processes import clean_env, trapline_command

    photos = tmp_path / "trap"
    photos.mkdir()
    for n in range(3):
        (photos / f"2024062122{n:02d}00.jpg").write_bytes(light_trap_jpeg(n, width=96, height=64))
    with live_platform("sqlite", tmp_path, postgres_databases,
                       SOURCES_LOCAL_ROOTS=str(tmp_path)) as site:  # fmt: skip
        env = clean_env(TRAPLINE_API_URL=site.url, TRAPLINE_TOKEN=site.token)

        def trapline(*args: str) -> list[dict[str, Any]]:
            done = subprocess.run(trapline_command("sources", *args), env=env, cwd=tmp_path,
                                  capture_output=True, text=True, timeout=60)  # fmt: skip
            assert done.returncode == 0, done.stderr
            return [json.loads(line) for line in done.stdout.splitlines()]

        with site.client() as api:
            project = api.post("/api/v2/projects/", json={"name": "cli"}).json()["id"]
        [made] = trapline("add", "--project", str(project), "--name", "trap", "--kind", "local",
                          "--url", str(photos), "--schedule", "*/30 * * * *")  # fmt: skip
        assert made["schedule"] == "*/30 * * * *"
        assert [s["id"] for s in trapline("list", "--project", str(project))] == [made["id"]]
        [run] = trapline("run", str(made["id"]))

        def ended() -> Any:
            [latest] = trapline("runs", str(made["id"]))
            return latest if latest["status"] not in ("queued", "running") else None

        latest = wait_until(ended, "the run", timeout=WAIT)
        assert latest["id"] == run["id"]
        assert latest["imported"] == 3
        bad = subprocess.run(trapline_command("sources", "run", "999999"), env=env, cwd=tmp_path,
                             capture_output=True, text=True, timeout=60)  # fmt: skip
        assert bad.returncode == 1
        assert "404" in bad.stderr
