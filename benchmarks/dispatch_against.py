"""Dispatch throughput of this tree against another checkout's, in alternating rounds.

Both servers (SQLite, the SQL queue) run side by side for the whole comparison; each round
gives each a fresh project of ``--images`` photos and a job over them, worked by 4 no-op loops
(``dispatch.py``'s throughput run), one server after the other, swapping which goes first
every round. The machine's speed drifts by tens of percent within minutes here; rounds a few
seconds apart see nearly the same machine, which separate runs of ``dispatch.py`` do not.

    python benchmarks/dispatch_against.py CHECKOUT [--rounds 10] [--images 10000]

CHECKOUT is the root of the other tree (its ``src`` is put first on the server's path).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Server, machine_speed_ms, print_table, running_server
from dispatch import cpu_seconds, load_images, make_project, run_loops, start_job

HERE = Path(__file__).resolve().parent.parent


def one_run(server: Server, client: Any, name: str, images: int) -> tuple[float, float]:
    """A job over a fresh project of ``images`` photos: (images/s, server CPU µs per image)."""
    project = make_project(client, name)
    load_images(server, project, images)
    job_id, _, _ = start_job(client, project, images)
    before = cpu_seconds(server.pid)[0]
    done, elapsed, *_ = run_loops(server, job_id, 4, 64)
    after = cpu_seconds(server.pid)[0]
    if done != images:
        raise RuntimeError(f"{done} of {images} images saved")
    return done / elapsed, (after - before) / done * 1e6


def main(argv: list[str] | None = None) -> None:
    """Compare from the command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkout", type=Path, help="root of the other tree")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--images", type=int, default=10_000, help="photos per job")
    options = parser.parse_args(argv)
    if not (options.checkout / "src" / "trapline").is_dir():
        parser.error(f"{options.checkout} holds no src/trapline")
    print(f"machine speed: {machine_speed_ms():.0f} ms for the reference loop (lower is faster)")
    trees = {"this tree": HERE, str(options.checkout): options.checkout.resolve()}
    with ExitStack() as stack:
        runs = {}
        for name, tree in trees.items():
            server = stack.enter_context(running_server(source=tree / "src"))
            runs[name] = (server, stack.enter_context(server.client()))
        this, other = trees
        rows, rates, cpus = [], [], []
        for n in range(options.rounds):
            measured = {}
            for name in (this, other) if n % 2 == 0 else (other, this):
                server, client = runs[name]
                measured[name] = one_run(server, client, f"round-{n}", options.images)
            rates.append(measured[this][0] / measured[other][0])
            cpus.append(measured[this][1] / measured[other][1])
            rows.append(
                [n + 1, *measured[this], *measured[other], f"{rates[-1]:.3f}", f"{cpus[-1]:.3f}"]
            )
            print(f"round {n + 1}: ratio {rates[-1]:.3f}", flush=True)
    print_table(
        f"dispatch against {other} (sqlite, sql queue, {options.images:,} images a job, 4 loops)",
        [
            "round",
            "images/s",
            "server CPU µs/img",
            "other images/s",
            "other CPU µs/img",
            "ratio",
            "CPU ratio",
        ],
        [
            *rows,
            ["median", "", "", "", "", *(f"{statistics.median(r):.3f}" for r in (rates, cpus))],
        ],
    )


if __name__ == "__main__":
    main()
