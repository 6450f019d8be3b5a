"""Many idle workers polling: what they cost PostgreSQL on each queue; how fast work reaches them.

A real ``trapline serve`` on PostgreSQL, once per queue (``sql``, then ``nats`` on a private
JetStream). One job is running with nothing queued: its only other task is held under a long
lease. ``--workers`` simulated workers (200 by default; asyncio, raw HTTP/1.1 on kept-alive
loopback connections, each with its own ``client_info`` as real workers send) then poll the
way idle workers do, every ``--interval`` seconds (±50% at random):

- ``job``: ``POST /api/v2/jobs/{id}/tasks/`` (AMI workers, after listing the running jobs);
- ``next``: ``POST /api/v2/tasks/next/`` for the job's pipeline (trapline's own worker).

For ``--seconds`` of polling, after ``--warmup`` seconds, it measures the CPU of the database's
PostgreSQL backends (the processes serving the benchmark's database, via psutil), the
transactions that database committed (``pg_stat_database``), the CPU of the server and of
nats-server, and the latency (p50/p99) of the idle claims. Then, ``--arrivals`` times, one
task arrives among the pollers (a failed task requeued by ``POST /jobs/{id}/retry/``): the
table gives the latency of the claim that took it, and the pickup: the time from sending the
retry to that claim's answer (the retry's own work included).

Every poller stops by itself at the end of its phase or at a hard deadline.

    python benchmarks/idle_workers.py [--queue sql|nats ...] [--mode job|next ...]
                                      [--workers 200] [--interval 1] [--seconds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))

import contextlib

import psutil
from common import POSTGRES_ADMIN_URL, QUEUES, Server, machine_speed_ms, print_table, running_server
from dispatch import PIPELINE, load_images, make_project, percentile

#: Ways an idle worker polls.
MODES = ("job", "next")
#: Tasks an idle worker asks for per claim.
BATCH = 8
#: Seconds a single request may take before the benchmark gives up on the run.
REQUEST_TIMEOUT = 30.0
#: Seconds one arrival may take to be claimed.
ARRIVAL_TIMEOUT = 30.0


class Http:
    """One kept-alive HTTP/1.1 connection speaking just enough of the protocol (JSON POSTs).

    httpx's async client costs about a millisecond of CPU a request; 200 pollers on a
    two-core machine shared with the server would measure the benchmark more than the server.
    """

    def __init__(self, base_url: str, token: str) -> None:
        where = urlsplit(base_url)
        self.host, self.port = where.hostname or "127.0.0.1", where.port or 80
        self.token = token
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST ``body``; returns (status, decoded JSON answer). Reconnects once if the kept
        connection was closed by the server."""
        data = json.dumps(body).encode()
        head = (
            f"POST {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            f"Authorization: Token {self.token}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(data)}\r\n\r\n"
        ).encode()
        for attempt in range(2):
            try:
                return await asyncio.wait_for(self._exchange(head + data), REQUEST_TIMEOUT)
            except (ConnectionError, asyncio.IncompleteReadError):
                await self.close()
                if attempt:
                    raise
        raise AssertionError("unreachable")

    async def _exchange(self, request: bytes) -> tuple[int, Any]:
        if self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        assert self._reader is not None
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        for line in lines[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "content-length":
                length = int(value)
        answer = await self._reader.readexactly(length)
        return status, json.loads(answer) if answer else None

    async def close(self) -> None:
        """Close the connection (the next post opens a new one)."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(ConnectionError):
                await self._writer.wait_closed()
        self._reader = self._writer = None


@dataclass
class Counters:
    """CPU seconds and database work so far."""

    postgres_cpu: float
    server_cpu: float
    nats_cpu: float
    transactions: int

    def __sub__(self, other: Counters) -> Counters:
        return Counters(
            self.postgres_cpu - other.postgres_cpu,
            self.server_cpu - other.server_cpu,
            self.nats_cpu - other.nats_cpu,
            self.transactions - other.transactions,
        )


class BackendCpu:
    """CPU seconds of the PostgreSQL backends serving one database, sampled every half second.

    The server's pool closes its overflow connections when they come back, so backends come
    and go during a run; each is counted up to its last sample (a backend's CPU is lost when it
    exits), from its first (or from the start).
    """

    def __init__(self, database: str) -> None:
        self.database = database
        self.first: dict[int, float] = {}
        self.last: dict[int, float] = {}

    def sample(self) -> None:
        """Read the CPU of every backend of the database now."""
        for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
            name, times = process.info["name"] or "", process.info["cpu_times"]
            # A backend's title is "postgres: <user> <database> <client> <state>".
            title = " ".join(process.info["cmdline"] or [])
            if times and name.startswith("postgres") and f" {self.database} " in title:
                self.first.setdefault(process.pid, times.user + times.system)
                self.last[process.pid] = times.user + times.system

    @property
    def spent(self) -> float:
        """CPU seconds between the samples."""
        return sum(self.last[pid] - self.first[pid] for pid in self.last)


async def sample_until(meter: BackendCpu, stop: asyncio.Event) -> None:
    """Sample ``meter`` every half second until ``stop`` is set (and once more then)."""
    while not stop.is_set():
        await asyncio.to_thread(meter.sample)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), 0.5)
    await asyncio.to_thread(meter.sample)


def counters(server: Server, database: str) -> Counters:
    """CPU of the server and nats-server; the database's transactions (postgres_cpu: 0)."""
    import psycopg

    nats = 0.0
    nats_port = urlsplit(server.queue_url).port if server.queue_url != "sql" else None
    for process in psutil.process_iter(["name", "cmdline", "cpu_times"]):
        name, times = process.info["name"] or "", process.info["cpu_times"]
        command = " ".join(process.info["cmdline"] or [])
        if times and nats_port and name.startswith("nats-server") and f" {nats_port} " in command:
            nats += times.user + times.system
    own = psutil.Process(server.pid)
    server_cpu = sum(p.cpu_times().user + p.cpu_times().system for p in [own, *own.children()])
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        row = conn.execute(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s",
            (database,),
        ).fetchone()
    assert row is not None
    return Counters(0.0, server_cpu, nats, int(row[0]))


@dataclass
class Polling:
    """What the pollers of one phase saw."""

    #: Seconds of idle claims answered within the measuring window.
    idle: list[float] = field(default_factory=list)
    #: Answers other than 200 (503 overloaded or queue unavailable), by status.
    refused: dict[int, int] = field(default_factory=dict)
    #: Measuring starts/stops when these are set.
    measuring: bool = False


@dataclass(frozen=True)
class Arrival:
    """A claim that found work: its own latency, and when it was answered."""

    latency: float
    answered_at: float
    tasks: list[dict[str, Any]]


async def poller(
    index: int,
    server: Server,
    token: str,
    path: str,
    body: dict[str, Any],
    interval: float,
    polling: Polling,
    found: asyncio.Queue[Arrival],
    stop: asyncio.Event,
    deadline: float,
) -> None:
    """Poll until ``stop`` or ``deadline``, as an idle worker does."""
    http = Http(server.base_url, token)
    request = {**body, "client_info": {"name": f"idle-{index}", "hostname": "bench", "pid": index}}
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), random.uniform(0, interval))
    try:
        while not stop.is_set() and time.monotonic() < deadline:
            started = time.perf_counter()
            status, answer = await http.post(path, request)
            took = time.perf_counter() - started
            if status != 200:
                polling.refused[status] = polling.refused.get(status, 0) + 1
            elif answer["tasks"]:
                await found.put(Arrival(took, time.perf_counter(), answer["tasks"]))
            elif polling.measuring:
                polling.idle.append(took)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), interval * random.uniform(0.5, 1.5))
    finally:
        await http.close()


@dataclass(frozen=True)
class Setup:
    """A running job with nothing queued, and what the pollers need."""

    job_id: int
    #: A worker's (service account) token.
    token: str
    #: Name of the server's PostgreSQL database.
    database: str


async def run_phase(
    server: Server,
    setup: Setup,
    mode: str,
    options: argparse.Namespace,
) -> dict[str, Any]:
    """Poll for warm-up + measuring + arrivals; returns the phase's figures."""
    if mode == "job":
        path, body = f"/api/v2/jobs/{setup.job_id}/tasks/", {"batch_size": BATCH}
    else:
        path, body = "/api/v2/tasks/next/", {"pipelines": [PIPELINE], "batch_size": BATCH}
    polling = Polling()
    found: asyncio.Queue[Arrival] = asyncio.Queue()
    stop = asyncio.Event()
    budget = options.warmup + options.seconds + options.arrivals * (ARRIVAL_TIMEOUT + 2) + 30
    deadline = time.monotonic() + budget
    pollers = [
        asyncio.create_task(
            poller(
                i,
                server,
                setup.token,
                path,
                body,
                options.interval,
                polling,
                found,
                stop,
                deadline,
            )
        )
        for i in range(options.workers)
    ]
    admin = Http(server.base_url, server.token)
    try:
        await asyncio.sleep(options.warmup)
        before = await asyncio.to_thread(counters, server, setup.database)
        meter, measured = BackendCpu(setup.database), asyncio.Event()
        sampler = asyncio.create_task(sample_until(meter, measured))
        polling.measuring = True
        started = time.perf_counter()
        await asyncio.sleep(options.seconds)
        polling.measuring = False
        elapsed = time.perf_counter() - started
        measured.set()
        await sampler
        spent = await asyncio.to_thread(counters, server, setup.database) - before
        spent.postgres_cpu = meter.spent
        claims, delays = [], []
        for _ in range(options.arrivals):
            retried = time.perf_counter()
            status, answer = await admin.post(f"/api/v2/jobs/{setup.job_id}/retry/", {})
            # (A poller may have leased the task before the answer was written: no count check.)
            assert status == 200, (status, answer)
            arrival = await asyncio.wait_for(found.get(), ARRIVAL_TIMEOUT)
            claims.append(arrival.latency)
            delays.append(arrival.answered_at - retried)
            await fail(admin, setup.job_id, arrival.tasks)
            await asyncio.sleep(random.uniform(0.2, 0.6))
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*pollers), REQUEST_TIMEOUT + 5)
        await admin.close()
    idle = len(polling.idle)
    return {
        "claims/s": idle / elapsed,
        "idle p50 ms": percentile(polling.idle, 0.5),
        "idle p99 ms": percentile(polling.idle, 0.99),
        "refused": sum(polling.refused.values()),
        "PG CPU ms/s": spent.postgres_cpu / elapsed * 1000,
        "PG CPU µs/claim": spent.postgres_cpu / idle * 1e6,
        "PG xacts/claim": spent.transactions / idle,
        "server CPU µs/claim": spent.server_cpu / idle * 1e6,
        "NATS CPU µs/claim": spent.nats_cpu / idle * 1e6,
        "arrival claim p50 ms": statistics.median(claims) * 1000,
        "arrival claim max ms": max(claims) * 1000,
        "pickup p50 ms": statistics.median(delays) * 1000,
        "pickup max ms": max(delays) * 1000,
    }


async def fail(admin: Http, job_id: int, tasks: Sequence[dict[str, Any]]) -> None:
    """Post an error result for each task, so that it is failed (and can arrive again)."""
    results = [
        {
            "reply_subject": t["reply_subject"],
            "result": {"error": "bench", "image_id": t["image_id"]},
        }
        for t in tasks
    ]
    status, answer = await admin.post(f"/api/v2/jobs/{job_id}/result/", {"results": results})
    assert status == 200, answer
    assert {t["status"] for t in answer["tasks"]} == {"failed"}, answer


def prepare(server: Server) -> Setup:
    """A project of two images, a running job of them (one task held under a long lease, the
    other failed), and a service token for the pollers."""
    with server.client() as client:
        project = make_project(client, "idle")
        load_images(server, project, 2)
        made = client.post(f"/api/v2/projects/{project}/service-tokens/", json={"name": "idle"})
        made.raise_for_status()
        token = made.json()["token"]
        answer = client.post(
            "/api/v2/jobs/",
            json={
                "project_id": project,
                "pipeline": PIPELINE,
                "params": {"reprocess": True, "max_attempts": 1, "lease_seconds": 3600},
            },
        )
        answer.raise_for_status()
        job_id = answer.json()["id"]
        deadline = time.monotonic() + 60
        while client.get(f"/api/v2/jobs/{job_id}/").json()["status"] != "running":
            assert time.monotonic() < deadline, "the job did not start"
            time.sleep(0.05)
        tasks: list[dict[str, Any]] = []
        while len(tasks) < 2:
            assert time.monotonic() < deadline, "the job's tasks were not handed out"
            claimed = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 2})
            tasks += claimed.raise_for_status().json()["tasks"]
    # The first task stays leased (keeping the job running); the second is failed, to arrive.
    asyncio.run(_fail_one(server, job_id, tasks[1]))
    database = urlsplit(server.database_url).path.lstrip("/")
    return Setup(job_id=job_id, token=token, database=database)


async def _fail_one(server: Server, job_id: int, task: dict[str, Any]) -> None:
    admin = Http(server.base_url, server.token)
    try:
        await fail(admin, job_id, [task])
    finally:
        await admin.close()


COLUMNS = (
    "claims/s",
    "idle p50 ms",
    "idle p99 ms",
    "refused",
    "PG CPU ms/s",
    "PG CPU µs/claim",
    "PG xacts/claim",
    "server CPU µs/claim",
    "NATS CPU µs/claim",
    "arrival claim p50 ms",
    "arrival claim max ms",
    "pickup p50 ms",
    "pickup max ms",
)


def main(argv: list[str] | None = None) -> None:
    """Run the idle-worker benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--queue", choices=QUEUES, action="append", help="default: both")
    parser.add_argument("--mode", choices=MODES, action="append", help="default: both")
    parser.add_argument("--workers", type=int, default=200, help="idle pollers (default 200)")
    parser.add_argument(
        "--interval", type=float, default=1.0, help="seconds between a poller's claims"
    )
    parser.add_argument("--seconds", type=float, default=30.0, help="measured polling per run")
    parser.add_argument("--warmup", type=float, default=5.0, help="polling before measuring")
    parser.add_argument("--arrivals", type=int, default=5, help="tasks arriving per run")
    options = parser.parse_args(argv)
    if not 1 <= options.workers <= 2000:
        parser.error("--workers must be from 1 to 2000")
    queues, modes = options.queue or list(QUEUES), options.mode or list(MODES)
    print(f"machine speed: {machine_speed_ms():.0f} ms for the reference loop (lower is faster)")
    rows = []
    for queue in queues:
        with running_server("postgres", queue) as server:
            setup = prepare(server)
            for mode in modes:
                figures = asyncio.run(run_phase(server, setup, mode, options))
                rows.append([queue, mode, *(figures[c] for c in COLUMNS)])
    print_table(
        f"{options.workers} idle workers polling every {options.interval:g} s (PostgreSQL, "
        f"{options.seconds:g} s measured per run, {options.arrivals} arrivals)",
        ["queue", "poll", *COLUMNS],
        rows,
    )


if __name__ == "__main__":
    main()
