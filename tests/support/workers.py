"""Pull workers for end-to-end tests: a live platform to talk to and a small worker loop.

The loop is what a minimal worker does: claim a batch, fetch the images, post one result per
task, until a claim comes back empty. Tests run it in threads, or as a real process with
``python -m tests.support.workers`` (see ``start_worker``) so it can be killed.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from tests.support.protocol import detection, http_client, pipeline_config, registration, success

# A worker process needs only httpx; what starts servers and makes images is imported where
# used, which keeps a worker's start-up short (several start at once in the tests).
if TYPE_CHECKING:
    from tests.support.databases import PostgresDatabases
    from tests.support.processes import Server

#: Folder the worker module runs from, so ``tests`` is importable in a child process.
REPO_ROOT = Path(__file__).resolve().parents[2]
#: Size of the generated images; boxes posted by the workers fit inside it.
IMAGE_SIZE = (64, 48)
#: A box inside IMAGE_SIZE.
BOX = (2.0, 3.0, 30.0, 40.0)
#: Seconds a worker waits for the go signal before giving up.
GO_TIMEOUT = 60.0
#: Environment variable handing a worker process its token.
TOKEN_VARIABLE = "E2E_WORKER_TOKEN"


@dataclass(frozen=True)
class Platform:
    """A running ``trapline serve`` and a user token on it."""

    server: Server
    token: str
    #: The server's environment, to start it again the same way.
    env: dict[str, str] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Token {self.token}"}

    def client(self) -> httpx.Client:
        """A client for the API paths (``/api/v2/...``), sending the token."""
        return http_client(self.url, self.token)


@contextmanager
def live_platform(
    backend: str,
    folder: Path,
    postgres_databases: PostgresDatabases,
    *,
    port: int | None = None,
    command: Callable[..., list[str]] | None = None,
    **settings: str,
) -> Iterator[Platform]:
    """Serve trapline on ``backend`` (sqlite or postgres) with a fast lease reaper.

    ``settings`` are extra ``TRAPLINE_*`` variables (``PUBLIC_URL="…"``); ``command`` makes
    the server's command line of its arguments (default: ``trapline`` itself).
    """
    from tests.support.databases import require_postgres
    from tests.support.processes import clean_env, running, trapline_command

    env = clean_env(
        TRAPLINE_DATA_DIR=str(folder / "data"),
        TRAPLINE_SECRET_KEY="e2e-protocol-secret",
        TRAPLINE_REAPER_INTERVAL="0.5",
        **{f"TRAPLINE_{k}": v for k, v in settings.items()},
    )
    url = None
    if backend == "postgres":
        require_postgres()
        url = postgres_databases.new()
        env["TRAPLINE_DATABASE_URL"] = url
    try:
        token = prepared_account(env, "worker@example.org")
        with running(
            ["serve"], cwd=folder, env=env, port=port, command=command or trapline_command
        ) as server:
            yield Platform(server, token, env)
    finally:
        if url is not None:
            postgres_databases.drop(url)


def prepared_account(env: dict[str, str], email: str) -> str:
    """Migrate the database a server of ``env`` will use and make a user with a token there;
    the token. What ``trapline migrate`` and ``admin create-user``/``create-token`` do, in
    this process: the commands themselves are tested in test_up and test_first_hour, and
    three interpreters starting cost a server 7-8 s of CPU."""
    from trapline.cli import platform_commands
    from trapline.settings import Settings

    fields = {"data_dir": env["TRAPLINE_DATA_DIR"]}
    for key, name in (("database_url", "DATABASE_URL"), ("secret_key", "SECRET_KEY")):
        if f"TRAPLINE_{name}" in env:
            fields[key] = env[f"TRAPLINE_{name}"]
    settings = Settings(**fields, _env_file=None)  # type: ignore[arg-type, call-arg]
    platform_commands.run_migrate(settings)
    platform_commands.admin_create_user(settings, email=email, name="", is_admin=False)
    return platform_commands.admin_create_token(settings, email=email, name="cli")


def project_with_images(
    client: httpx.Client, count: int, *, name: str, per_request: int = 100, seed: int = 0
) -> tuple[int, dict[int, str]]:
    """A new project holding ``count`` generated JPEGs; returns its id and {image id: sha256}."""
    from trapline.imaging.synthetic import light_trap_jpeg

    made = client.post("/api/v2/projects/", json={"name": name})
    assert made.status_code == 201, made.text
    project_id = int(made.json()["id"])
    images: dict[int, str] = {}
    for start in range(0, count, per_request):
        files = []
        for n in range(start, min(start + per_request, count)):
            data = light_trap_jpeg(seed + n, width=IMAGE_SIZE[0], height=IMAGE_SIZE[1])
            files.append(("files", (f"trap-{n:05d}.jpg", io.BytesIO(data), "image/jpeg")))
        answer = client.post(f"/api/v2/projects/{project_id}/images/", files=files)
        assert answer.status_code == 201, answer.text
        for uploaded in answer.json()["results"]:
            assert not uploaded["duplicate"], uploaded
            images[int(uploaded["id"])] = uploaded["sha256"]
    assert len(images) == count
    return project_id, images


def start_job(client: httpx.Client, project_id: int, slug: str, **params: Any) -> int:
    """Register pipeline ``slug`` in the project and start a job of it; returns the job id."""
    done = client.post(
        f"/api/v2/projects/{project_id}/pipelines/", json=registration(pipeline_config(slug))
    )
    assert done.status_code == 201, done.text
    made = client.post(
        "/api/v2/jobs/", json={"project_id": project_id, "pipeline": slug, "params": params}
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def result_for(task: dict[str, Any], slug: str) -> dict[str, Any]:
    """A result item with one detection (box inside the generated image) for ``task``."""
    return success(task, detection(task, slug=slug, bbox=BOX), slug=slug)


def analyses_per_image(
    client: httpx.Client, image_ids: list[int]
) -> dict[int, list[dict[str, Any]]]:
    """Every image's analyses, as GET /images/{id}/ shows them."""

    def analyses(image_id: int) -> list[dict[str, Any]]:
        answer = client.get(f"/api/v2/images/{image_id}")
        assert answer.status_code == 200, answer.text
        return list(answer.json()["analyses"])

    with ThreadPoolExecutor(4) as pool:
        return dict(zip(image_ids, pool.map(analyses, image_ids), strict=True))


@dataclass
class WorkLog:
    """What one worker loop received and what became of its results."""

    #: Task ids of every claimed batch, in claim order.
    batches: list[list[int]] = field(default_factory=list)
    #: Image id of every task received.
    images: dict[int, int] = field(default_factory=dict)
    #: Per-item result statuses ("saved", "duplicate", ...) by task id.
    statuses: dict[int, list[str]] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"batches": self.batches, "images": self.images, "statuses": self.statuses}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> WorkLog:
        return cls(
            batches=data["batches"],
            images={int(k): v for k, v in data["images"].items()},
            statuses={int(k): v for k, v in data["statuses"].items()},
        )


def patient_claim(
    client: httpx.Client, path: str, body: dict[str, Any], give_up: float
) -> httpx.Response:
    """POST a claim as a worker does: a 429 or 503 (the server overloaded, NATS slow to answer)
    is waited out as its Retry-After says, at most a second at a time, until ``give_up`` (a
    ``time.monotonic()`` instant); the last answer is returned."""
    while True:
        answer = client.post(path, json=body)
        if answer.status_code not in (429, 503) or time.monotonic() >= give_up:
            return answer
        time.sleep(min(float(answer.headers.get("Retry-After") or 1), 1.0))


def _still_queued(client: httpx.Client, job_id: int) -> bool:
    """Whether the job has tasks waiting to be claimed (as far as the worker may see it)."""
    answer = client.get(f"/api/v2/jobs/{job_id}")
    return answer.status_code == 200 and int(answer.json()["counts"]["queued"]) > 0


def drain(
    client: httpx.Client,
    job_id: int,
    slug: str,
    *,
    batch_size: int,
    pause: float = 0.0,
    journal: Path | None = None,
    deadline: float = 60.0,
) -> WorkLog:
    """Claim and finish batches of ``job_id`` until a claim is empty (the first claim only
    once the job has no task queued).

    ``pause`` is slept inside each batch, after fetching the images and before posting.
    ``journal`` gets one JSON line per batch as soon as it is claimed.
    """
    work = WorkLog()
    fetcher = httpx.Client(timeout=30)  # image URLs are signed: no token goes with them
    give_up = time.monotonic() + deadline
    try:
        while time.monotonic() < give_up:
            path = f"/api/v2/jobs/{job_id}/tasks/"
            answer = patient_claim(client, path, {"batch_size": batch_size}, give_up)
            answer.raise_for_status()
            tasks = answer.json()["tasks"]
            if not tasks and not work.batches and _still_queued(client, job_id):
                # Nothing handed out yet while tasks wait: over NATS a running job's messages
                # may reach the stream (or come back to it) a moment after the job opened.
                time.sleep(0.2)
                continue
            if not tasks:
                return work
            ids = [int(t["id"]) for t in tasks]
            work.batches.append(ids)
            work.images.update({int(t["id"]): int(t["image_id"]) for t in tasks})
            if journal is not None:
                with journal.open("a") as out:
                    out.write(json.dumps(ids) + "\n")
            for task in tasks:
                fetched = fetcher.get(task["image_url"])
                fetched.raise_for_status()
            time.sleep(pause)
            posted = client.post(
                f"/api/v2/jobs/{job_id}/result/",
                json={"results": [result_for(t, slug) for t in tasks]},
            )
            posted.raise_for_status()
            for item in posted.json()["tasks"]:
                work.statuses.setdefault(int(item["task_id"]), []).append(item["status"])
        raise TimeoutError(f"job {job_id} not drained within {deadline}s")
    finally:
        fetcher.close()


def start_worker(
    platform: Platform,
    job_id: int,
    slug: str,
    out: Path,
    *,
    batch_size: int,
    **options: Any,
) -> subprocess.Popen[bytes]:
    """Start a worker process on ``job_id``; it writes its WorkLog as JSON to ``out``.

    ``options`` are the command's flags (``pause=60`` is ``--pause 60``); the process's output
    goes to ``out`` with the suffix ``.log``.
    """
    from tests.support.processes import clean_env

    command = [sys.executable, "-m", "tests.support.workers", platform.url, str(job_id), slug]
    command += [str(out), "--batch-size", str(batch_size)]
    for name, value in options.items():
        command += [f"--{name.replace('_', '-')}", str(value)]
    env = clean_env(**{TOKEN_VARIABLE: platform.token})  # not on the command line, seen by ps
    with out.with_suffix(".log").open("wb") as log:
        return subprocess.Popen(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )


def main(argv: list[str] | None = None) -> None:
    """Run one worker loop: ``python -m tests.support.workers URL JOB SLUG OUT``."""
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("job", type=int)
    parser.add_argument("slug")
    parser.add_argument("out", type=Path)
    parser.add_argument("--batch-size", type=int, default=5)
    parser.add_argument("--pause", type=float, default=0.0)
    parser.add_argument("--journal", type=Path, default=None)
    parser.add_argument("--go-file", type=Path, default=None, help="wait for it to exist")
    args = parser.parse_args(argv)
    with http_client(args.url, os.environ[TOKEN_VARIABLE]) as client:
        if args.go_file is not None:
            # Signal readiness (imports done, client open), then start with the others.
            args.out.with_suffix(".ready").touch()
            give_up = time.monotonic() + GO_TIMEOUT
            while not args.go_file.exists():
                if time.monotonic() > give_up:
                    sys.exit(f"no go signal within {GO_TIMEOUT}s")
                time.sleep(0.005)
        work = drain(
            client,
            args.job,
            args.slug,
            batch_size=args.batch_size,
            pause=args.pause,
            journal=args.journal,
        )
    args.out.write_text(json.dumps(work.as_json()))
    print(f"worker {os.getpid()}: {sum(map(len, work.batches))} tasks", flush=True)


if __name__ == "__main__":
    main()
