"""A real moto S3 server in a subprocess, for tests that talk to S3 over HTTP."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import IO, Any

import boto3
import httpx

#: Credentials moto accepts; set so boto3 never looks for (or uses) real ones.
FAKE_AWS_ENV: dict[str, str | None] = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
    # A developer's profile or config file must not redirect the tests to real AWS.
    "AWS_PROFILE": None,
    "AWS_DEFAULT_PROFILE": None,
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}

#: Seconds to wait for the server to answer HTTP before failing the test run.
STARTUP_TIMEOUT = 30.0


@contextmanager
def environment(values: dict[str, str | None]) -> Iterator[None]:
    """Set (or, for None, unset) environment variables, and restore them afterwards."""
    saved = {name: os.environ.get(name) for name in values}
    try:
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@contextmanager
def moto_s3_server() -> Iterator[str]:
    """Run ``python -m moto.server`` with fake credentials set; yield its endpoint URL."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with (
        environment(FAKE_AWS_ENV),
        tempfile.TemporaryFile() as log,
    ):
        process = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            _wait_until_serving(process, endpoint, log)
            yield endpoint
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def new_bucket(endpoint: str) -> str:
    """Create a bucket with a unique name on the moto server and return its name."""
    name = f"test-{uuid.uuid4().hex[:16]}"
    s3_client(endpoint).create_bucket(Bucket=name)
    return name


@cache
def s3_client(endpoint: str) -> Any:
    """One client per server for the process (a client is thread-safe; making one costs ~60 ms)."""
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name="us-east-1")


def _wait_until_serving(process: subprocess.Popen[bytes], endpoint: str, log: IO[bytes]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    with httpx.Client(timeout=1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                log.seek(0)
                output = log.read().decode(errors="replace")
                raise RuntimeError(f"moto server exited with {process.returncode}:\n{output}")
            try:
                client.get(f"{endpoint}/moto-api/")
            except httpx.TransportError:
                time.sleep(0.1)
                continue
            return
    raise RuntimeError(f"moto server did not answer on {endpoint} within {STARTUP_TIMEOUT}s")
