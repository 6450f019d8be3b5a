"""Pull sources: a run over an nginx listing of small JPEGs next to uploading the same files,
and listing / finding nothing new among 100,000 known files.

1. ``trapline serve`` (SQLite) pulls ``--files`` JPEGs from nginx (autoindex JSON, one folder
   per night, ``--folders`` of them): files imported per second, from the run's own start and
   end; then the same files uploaded to the same server (10 per request, 4 requests in
   flight: the upload benchmark's fastest mode): images per second. The goal is at least 80%.
   A second run over the same listing finds nothing new: its time.
2. In process: listing ``--listing`` entries from nginx, and a run over them when every one is
   already known (their rows loaded behind the runner's back): seconds and peak Python memory
   (tracemalloc), which should stay flat however long the listing.

Run ``python benchmarks/sources.py --help`` for the options; ``--quick`` is a smoke run.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from common import Server, free_port, print_table, running_server

from trapline.imaging.synthetic import light_trap_jpeg

NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
#: Pull rate asked for, as a share of the upload rate on the same machine.
GOAL = 0.8


def _photo(n: int) -> bytes:
    return light_trap_jpeg(n, width=320, height=240, insects=3)


def make_files(root: Path, files: int, folders: int, *, photos: bool) -> None:
    """``files`` files in ``folders`` folders (photos, or empty files for listing tests)."""
    names = [
        (root / f"2024-06-{1 + n % folders:02d}-{n % folders:03d}", f"{20240601000000 + n}.jpg")
        for n in range(files)
    ]
    for folder in {f for f, _ in names}:
        folder.mkdir(parents=True, exist_ok=True)
    if not photos:
        for folder, name in names:
            (folder / name).touch()
        return
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        for (folder, name), data in zip(
            names, pool.map(_photo, range(files), chunksize=64), strict=True
        ):
            (folder / name).write_bytes(data)


@contextmanager
def nginx(root: Path) -> Iterator[str]:
    """nginx serving ``root`` with autoindex JSON; yields the folder's URL."""
    work = Path(tempfile.mkdtemp(prefix="trapline-bench-nginx-"))
    port = free_port()
    user = "user root;" if os.geteuid() == 0 else ""
    (work / "nginx.conf").write_text(
        f"{user}\ndaemon off;\nworker_processes 2;\npid {work}/nginx.pid;\n"
        f"error_log {work}/error.log warn;\nevents {{ worker_connections 512; }}\n"
        f"http {{ access_log off; client_body_temp_path {work}; proxy_temp_path {work};\n"
        f"fastcgi_temp_path {work}; uwsgi_temp_path {work}; scgi_temp_path {work};\n"
        f"server {{ listen 127.0.0.1:{port}; location /photos/ {{ alias {root}/; "
        f"autoindex on; autoindex_format json; }} }} }}\n"
    )
    process = subprocess.Popen([NGINX, "-c", str(work / "nginx.conf"), "-p", str(work),
                                "-e", str(work / "error.log")])  # fmt: skip
    try:
        time.sleep(0.5)
        yield f"http://127.0.0.1:{port}/photos/"
    finally:
        process.terminate()
        process.wait(10)
        shutil.rmtree(work, ignore_errors=True)


def pull(server: Server, url: str, files: int) -> tuple[float, float]:
    """A source over ``url`` run twice: files/s of the first run, seconds of the second."""
    with server.client() as api:
        project = api.post("/api/v2/projects/", json={"name": "pull benchmark"}).json()["id"]
        source = api.post(
            f"/api/v2/projects/{project}/sources",
            json={"name": "nginx", "kind": "http_directory", "url": url, "depth": 1,
                  "max_files": 10_000},
        )  # fmt: skip
        source.raise_for_status()
        sid = source.json()["id"]
        timings = []
        for _ in range(2):
            run_id = api.post(f"/api/v2/sources/{sid}/run").json()["id"]
            while True:
                run = api.get(f"/api/v2/sources/{sid}/runs/{run_id}").json()
                if run["status"] not in ("queued", "running"):
                    break
                time.sleep(0.2)
            if run["status"] != "succeeded":
                raise RuntimeError(f"the run did not succeed: {run}")
            timings.append((run, _seconds(run["started_at"], run["ended_at"])))
        (first, first_s), (second, second_s) = timings
        if first["imported"] != files or second["new"] != 0:
            raise RuntimeError(f"unexpected runs: {first} {second}")
        return files / first_s, second_s


def _seconds(start: str, end: str) -> float:
    from datetime import datetime

    return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()


def upload(server: Server, root: Path) -> float:
    """The same files uploaded, 10 per request, 4 requests in flight: images/s."""
    paths = sorted(root.rglob("*.jpg"))
    with server.client() as api:
        project = api.post("/api/v2/projects/", json={"name": "upload"}).json()["id"]
        url = f"/api/v2/projects/{project}/images/"
        batches = [paths[i : i + 10] for i in range(0, len(paths), 10)]

        def send(batch: list[Path]) -> None:
            files = [("files", (p.name, p.read_bytes(), "image/jpeg")) for p in batch]
            answer = api.post(url, files=files)
            if answer.status_code != 201:
                raise RuntimeError(f"upload failed: {answer.status_code} {answer.text}")

        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=4) as pool:
            list(pool.map(send, batches))
        return len(paths) / (time.perf_counter() - started)


def import_rates(files: int, folders: int, runs: int) -> None:
    root = Path(tempfile.mkdtemp(prefix="trapline-bench-photos-"))
    try:
        print(f"generating {files} JPEGs in {folders} folders ...", file=sys.stderr, flush=True)
        make_files(root, files, folders, photos=True)
        rows = []
        with nginx(root) as url:
            for number in range(1, runs + 1):
                settings = {"OUTBOUND_ALLOW_NETWORKS": "127.0.0.0/8", "SOURCES_DOWNLOADS": "4"}
                with running_server(settings=settings) as server:
                    pulled, nothing_new = pull(server, url, files)
                    uploaded = upload(server, root)
                print(f"  run {number}: pull {pulled:.1f}/s, upload {uploaded:.1f}/s, "
                      f"nothing new {nothing_new:.2f} s", file=sys.stderr, flush=True)  # fmt: skip
                rows.append((pulled, uploaded, nothing_new))
        size = statistics.mean(p.stat().st_size for p in root.rglob("*.jpg")) / 1000
    finally:
        shutil.rmtree(root, ignore_errors=True)
    pulled = statistics.median(r[0] for r in rows)
    uploaded = statistics.median(r[1] for r in rows)
    # Each run pulls and uploads on one server, one after the other: its ratio is a pair's,
    # and their median is the figure (load that comes and goes moves both sides of a pair).
    ratio = statistics.median(r[0] / r[1] for r in rows)
    print_table(
        f"pull sources: {files} JPEGs of {size:.0f} KB in {folders} folders on nginx, "
        f"trapline serve on SQLite, median of {runs} runs",
        ["measure", *(f"run {i}" for i in range(1, runs + 1)), "median"],
        [
            ["pulled (files/s)", *(r[0] for r in rows), pulled],
            ["uploaded, 10/request x 4 (images/s)", *(r[1] for r in rows), uploaded],
            ["pull / upload (each run's pair)", *(r[0] / r[1] for r in rows), ratio],
            ["run finding nothing new (s)", *(r[2] for r in rows),
             statistics.median(r[2] for r in rows)],
        ],
    )  # fmt: skip
    verdict = "met" if ratio >= GOAL else "MISSED"
    print(f"goal: pull at least {GOAL:.0%} of upload's rate: {ratio:.3f}, {verdict}")


def listing_costs(entries: int, runs: int) -> None:
    """Listing ``entries`` files, and a run over them all known: seconds and peak memory."""
    from trapline.domain.core.records import User
    from trapline.outbound import OutboundPolicy
    from trapline.platform import Platform
    from trapline.services.core import users
    from trapline.services.photos import projects
    from trapline.services.sources import sources
    from trapline.settings import Settings, parse_network
    from trapline.sources import open_gateway
    from trapline.sources.base import GatewayConfig

    root = Path(tempfile.mkdtemp(prefix="trapline-bench-listing-"))
    data = Path(tempfile.mkdtemp(prefix="trapline-bench-data-"))
    try:
        print(f"making {entries} empty files ...", file=sys.stderr, flush=True)
        make_files(root, entries, 100, photos=False)
        policy = OutboundPolicy(allow_networks=(parse_network("127.0.0.0/8"),))
        settings = Settings(data_dir=data, outbound_allow_networks="127.0.0.0/8", _env_file=None)
        from trapline.db.engine import Database
        from trapline.db.migrate import upgrade

        db = Database.from_url(settings.db.resolved_url(settings.server.data_dir))
        upgrade(db.engine)
        platform = Platform.from_settings(settings, db=db)
        rows = []
        list_peak = run_peak = 0.0
        with nginx(root) as url:
            manager: User = users.create_user(db, None, "b@example.org", "B", is_admin=False)
            project = projects.create_project(db, manager, "listing", "")
            source = sources.create_source(
                db, platform.sources.rules, manager, project.id, name="big",
                kind="http_directory", url=url, depth=1, include=["*.jpg"],
            )  # fmt: skip
            config = GatewayConfig(url=url, depth=1, policy=policy)
            _know_everything(db, source.id, config)
            for _ in range(runs):
                started = time.perf_counter()
                with open_gateway("http_directory", config) as gateway:
                    listed = sum(1 for _ in gateway.entries())
                list_s = time.perf_counter() - started
                started = time.perf_counter()
                run = platform.sources.run_source(source.id)
                run_s = time.perf_counter() - started
                if listed != entries or run is None or run.listed != entries or run.new != 0:
                    raise RuntimeError(f"unexpected: listed {listed}, run {run}")
                rows.append((list_s, run_s))
                print(f"  list {list_s:.2f} s, run {run_s:.2f} s", file=sys.stderr, flush=True)
            # Memory on one more pass: tracemalloc slows Python down, so it is not timed.
            tracemalloc.start()
            with open_gateway("http_directory", config) as gateway:
                sum(1 for _ in gateway.entries())
            list_peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.reset_peak()
            platform.sources.run_source(source.id)
            run_peak = tracemalloc.get_traced_memory()[1] / 1e6
            tracemalloc.stop()
        platform.close()
        db.dispose()
    finally:
        shutil.rmtree(root, ignore_errors=True)
        shutil.rmtree(data, ignore_errors=True)
    print_table(
        f"pull sources: {entries} entries in 100 folders on nginx (autoindex JSON), in process, "
        f"SQLite, median of {runs} runs (goal: each under 5 s, memory flat)",
        ["measure", *(f"run {i}" for i in range(1, runs + 1)), "median"],
        [
            ["listing (s)", *(r[0] for r in rows), statistics.median(r[0] for r in rows)],
            ["run, nothing new (s)", *(r[1] for r in rows), statistics.median(r[1] for r in rows)],
        ],
    )  # fmt: skip
    print(f"peak Python memory (tracemalloc, one more pass): listing {list_peak:.1f} MB, "
          f"run {run_peak:.1f} MB")  # fmt: skip


def _know_everything(db: object, source_id: int, config: object) -> None:
    """Rows for every listed file, as if earlier runs had imported them all."""
    from sqlalchemy import insert

    from trapline.db.tables import PullSourceItemRow
    from trapline.db.types import utcnow
    from trapline.sources import open_gateway

    now = utcnow()
    batch: list[dict[str, object]] = []
    with open_gateway("http_directory", config) as gateway:  # type: ignore[arg-type]
        for entry in gateway.entries():
            batch.append({"source_id": source_id, "key": entry.key, "version": entry.version,
                          "size": entry.size, "status": "imported", "attempts": 1,
                          "updated_at": now})  # fmt: skip
            if len(batch) >= 5000:
                with db.write() as repos:  # type: ignore[attr-defined]
                    repos.session.execute(insert(PullSourceItemRow), batch)
                batch.clear()
    if batch:
        with db.write() as repos:  # type: ignore[attr-defined]
            repos.session.execute(insert(PullSourceItemRow), batch)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of this benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=10_000, help="JPEGs pulled (10,000)")
    parser.add_argument("--folders", type=int, default=100, help="folders they are in (100)")
    parser.add_argument("--listing", type=int, default=100_000, help="entries listed (100,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs of each measure (3)")
    parser.add_argument("--quick", action="store_true", help="smoke run: small sizes, 1 run")
    args = parser.parse_args(argv)
    if args.quick:
        args.files, args.folders, args.listing, args.runs = 200, 4, 2000, 1
    return args


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark from the command line."""
    args = parse_args(argv)
    import_rates(args.files, args.folders, args.runs)
    listing_costs(args.listing, args.runs)


if __name__ == "__main__":
    main()
