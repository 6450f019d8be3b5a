"""Recovery: how long throughput takes to come back after NATS or a server replica restarts.

Two ``trapline serve`` replicas share one PostgreSQL database, one JetStream server and one
data dir (so one secret key). Four no-op worker loops (claim 64, post 64 results) talk to
replica A or B, two each, and switch to the other replica when theirs stops answering, as a
load balancer would make them. After a warm-up the script measures the steady rate, then
breaks something and reports how many seconds pass until a 3-second window is back at 90%
of that rate:

- ``nats``: SIGKILL the NATS server and start it again at once (same store);
- ``replica``: SIGKILL replica A and start it again one second later.

    python benchmarks/recovery.py [--scenario nats|replica|both]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
from common import (
    ADMIN_EMAIL,
    Nats,
    Server,
    _cli,
    _create_postgres_database,
    _drop_postgres_database,
    _server_env,
    _sqlalchemy_url,
    _wait_ready,
    free_port,
    print_table,
)
from dispatch import PIPELINE, load_images, registration, result_for

#: Seconds of warm-up, of steady measurement, and allowed for recovery.
WARM_UP, STEADY, RECOVERY = 8.0, 10.0, 30.0
#: Images in the job: more than the run can finish.
JOB_SIZE = 400_000
_TRAPLINE = [sys.executable, "-m", "trapline.cli"]


class Replica:
    """One ``trapline serve`` process that can be killed and started again on its port."""

    def __init__(self, env: dict[str, str], folder: Path) -> None:
        self.env, self.folder, self.port = env, folder, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        with open(self.folder / f"serve-{self.port}.log", "ab") as log:
            self.process = subprocess.Popen(
                [*_TRAPLINE, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
                env=self.env,
                cwd=self.folder,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        _wait_ready(self.url, self.process, self.folder / f"serve-{self.port}.log")

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def loop(args: tuple[list[str], str, int, float]) -> list[tuple[float, int]]:
    """Claim and post until ``stop_at``; returns (time, images saved) per post."""
    urls, token, job_id, stop_at = args
    events: list[tuple[float, int]] = []
    headers = {"Authorization": f"Token {token}"}
    current = 0
    client = httpx.Client(base_url=urls[current], headers=headers, timeout=10)
    while time.time() < stop_at:
        try:
            claimed = client.post(f"/api/v2/jobs/{job_id}/tasks/", json={"batch_size": 64})
            if claimed.status_code != 200:
                time.sleep(0.2)
                continue
            tasks = claimed.json()["tasks"]
            if not tasks:
                time.sleep(0.1)
                continue
            body = {"results": [result_for(t) for t in tasks]}
            posted = client.post(f"/api/v2/jobs/{job_id}/result/", json=body)
            if posted.status_code == 200:
                saved = sum(1 for t in posted.json()["tasks"] if t["status"] == "saved")
                events.append((time.time(), saved))
        except httpx.TransportError:
            # This replica is gone: go to the other one, as a load balancer would.
            current = 1 - current
            client.close()
            client = httpx.Client(base_url=urls[current], headers=headers, timeout=10)
            time.sleep(0.1)
    client.close()
    return events


def rate_between(events: list[tuple[float, int]], start: float, end: float) -> float:
    return sum(n for t, n in events if start <= t < end) / (end - start)


def recovery_seconds(events: list[tuple[float, int]], fault_at: float, target: float) -> float:
    """Seconds after the fault until a 3 s window reaches ``target`` images/s."""
    step = 0.25
    moment = fault_at + 3.0
    while moment <= fault_at + RECOVERY:
        if rate_between(events, moment - 3.0, moment) >= target:
            return moment - fault_at
        moment += step
    return float("inf")


def run(scenario: str) -> list[object]:
    folder = Path(tempfile.mkdtemp(prefix="trapline-recovery-"))
    database = f"trapline_bench_{os.urandom(4).hex()}"
    nats = Nats(folder)
    replicas: list[Replica] = []
    try:
        database_url = _create_postgres_database(database)
        nats.start()
        env = _server_env(folder, database_url)
        env["TRAPLINE_QUEUE_URL"] = nats.url
        env["TRAPLINE_REAPER_INTERVAL"] = "1"
        _cli(env, folder, "migrate")
        _cli(env, folder, "admin", "create-user", "--email", ADMIN_EMAIL, "--admin")
        token = _cli(env, folder, "admin", "create-token", "--email", ADMIN_EMAIL).strip()
        replicas = [Replica(env, folder), Replica(env, folder)]
        for replica in replicas:
            replica.start()
        server = Server(
            replicas[0].url,
            token,
            folder,
            _sqlalchemy_url(database_url),
            "postgres",
            folder,
            pid=replicas[0].process.pid if replicas[0].process else 0,
        )
        with server.client() as client:
            project = client.post("/api/v2/projects/", json={"name": "recovery"}).json()["id"]
            client.post(
                f"/api/v2/projects/{project}/pipelines/", json=registration()
            ).raise_for_status()
            load_images(server, project, JOB_SIZE)
            job = client.post(
                "/api/v2/jobs/",
                json={"project_id": project, "pipeline": PIPELINE, "params": {"lease_seconds": 30}},
            ).json()["id"]
            while client.get(f"/api/v2/jobs/{job}/").json()["status"] != "running":
                time.sleep(0.1)
        started = time.time() + 3
        fault_at = started + WARM_UP + STEADY
        stop_at = fault_at + RECOVERY + 1
        urls = [r.url for r in replicas]
        work = [(urls if n % 2 == 0 else urls[::-1], token, job, stop_at) for n in range(4)]
        context = multiprocessing.get_context("spawn")
        with context.Pool(4) as pool:
            pending = pool.map_async(loop, work)
            time.sleep(max(0.0, fault_at - time.time()))
            if scenario == "nats":
                nats.kill()
                nats.start()
            else:
                replicas[0].kill()
                time.sleep(1)
                replicas[0].start()
            events = sorted(e for loop_events in pending.get() for e in loop_events)
        steady = rate_between(events, started + WARM_UP, fault_at)
        dip = min(rate_between(events, fault_at + s, fault_at + s + 1) for s in range(0, 10))
        seconds = recovery_seconds(events, fault_at, 0.9 * steady)
        return [scenario, steady, dip, "not within 30 s" if seconds == float("inf") else seconds]
    finally:
        for replica in replicas:
            replica.kill()
        nats.kill()
        _drop_postgres_database(database)


def main(argv: list[str] | None = None) -> None:
    """Run the recovery benchmark from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", choices=("nats", "replica", "both"), default="both")
    parser.add_argument("--runs", type=int, default=1)
    options = parser.parse_args(argv)
    scenarios = ["nats", "replica"] if options.scenario == "both" else [options.scenario]
    rows = []
    for scenario in scenarios:
        outcomes = [run(scenario) for _ in range(options.runs)]
        times = [o[3] for o in outcomes if isinstance(o[3], float)]
        rows.append(
            [
                scenario,
                statistics.median(float(o[1]) for o in outcomes),
                statistics.median(float(o[2]) for o in outcomes),
                statistics.median(times) if len(times) == len(outcomes) else "not within 30 s",
                options.runs,
            ]
        )
    print_table(
        "recovery (PostgreSQL + NATS, 2 replicas, 4 no-op loops, batches of 64)",
        ["fault", "steady img/s", "worst 1 s after", "s to 90% of steady", "runs"],
        rows,
    )


if __name__ == "__main__":
    main()
