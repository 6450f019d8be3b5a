"""The counting pages of this tree against another checkout's, request by request: each tree
loads ``occurrence_counts.py``'s project (its own loader, on its own schema) and serves it on
a port of its own; or, with ``--dataset``, both serve the saved realistic data set of that size
(``dataset.py``: results of several pipelines and versions, classifications, tracked
occurrences and identifications), as this tree's migrations left its schema, the other tree's
code reading the columns it knows. Requests then alternate between the two, in turns that
swap which goes first, so that whatever else the machine does falls on both alike. Prints each
page's median server-and-network time and the median of the per-pair ratios (this tree / the
other).

    python benchmarks/page_pairs.py --before /path/to/checkout --images 100000
    python benchmarks/page_pairs.py --before /path/to/checkout --dataset 10k
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

HERE = Path(__file__).resolve().parent
PAGES = ("project", "deployment", "species", "labels", "event")


def serve(tree: Path, images: int, backend: str, port: int, paths: Path) -> None:
    """Load the project with ``tree``'s code and serve it until killed (run in a child)."""
    sys.path.insert(0, str(tree / "benchmarks"))
    import occurrence_counts as oc  # that tree's loader
    import uvicorn
    from sqlalchemy import text

    with oc.bench_platform(backend) as platform:
        project, deployments, owner, _ = oc.load_nights(
            platform, images, oc._OCCURRENCES, species=oc.SPECIES, no=False
        )
        oc.accounts.set_password(platform.db, None, owner, oc.PASSWORD)
        with platform.db.read() as repos:
            event = repos.session.scalar(text("SELECT min(id) FROM events"))
        found = dict(
            zip(
                PAGES,
                (f"/projects/{project}", f"/deployments/{deployments[0]}",
                 f"/projects/{project}/species", f"/projects/{project}/labels",
                 f"/events/{event}"),
                strict=True,
            )
        )  # fmt: skip
        paths.write_text(json.dumps(found))
        uvicorn.run(oc.create_app(platform), host="127.0.0.1", port=port, log_level="warning")


def serve_saved(url: str, files: Path, port: int, paths: Path) -> None:
    """Serve a saved data set with the code on ``PYTHONPATH``, its schema as it is (run in a
    child)."""
    import uvicorn
    from sqlalchemy import text

    from trapline.app import create_app
    from trapline.platform import Platform
    from trapline.settings import Settings

    settings = Settings(
        data_dir=files, database_url=url, secret_key="benchmark-secret-key",
        duties_enabled=False, _env_file=None,
    )  # fmt: skip
    platform = Platform.from_settings(settings)
    with platform.db.read() as repos:
        project, deployment, event = repos.session.execute(
            text("SELECT min(project_id), min(id), (SELECT min(id) FROM events) FROM deployments")
        ).one()
    found = dict(
        zip(
            PAGES,
            (f"/projects/{project}", f"/deployments/{deployment}",
             f"/projects/{project}/species", f"/projects/{project}/labels", f"/events/{event}"),
            strict=True,
        )
    )  # fmt: skip
    paths.write_text(json.dumps(found))
    uvicorn.run(create_app(platform), host="127.0.0.1", port=port, log_level="warning")


def _signed_in(port: int) -> httpx.Client:
    client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120)
    page = client.get("/signin").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": token, "email": "bench@example.org", "password": "benchmark password"}
    assert client.post("/signin", data={**form, "next": "/"}).status_code in (200, 303)
    return client


def _start(tree: Path, args: argparse.Namespace, port: int, folder: Path) -> subprocess.Popen:
    paths = folder / f"paths-{port}.json"
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    command = [sys.executable, __file__, "--serve", str(tree), "--port", str(port),
               "--paths", str(paths), "--images", str(args.images),
               "--backend", args.backend]  # fmt: skip
    if args.saved:
        command += ["--saved", args.saved]
    return subprocess.Popen(command, env=env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="the other checkout's root")
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--dataset", help="serve the saved realistic data set of this size")
    parser.add_argument("--saved", help=argparse.SUPPRESS)
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--paths", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve and args.saved:
        serve_saved(args.saved, args.paths.parent / "files", args.port, args.paths)
        return
    if args.serve:
        serve(args.serve, args.images, args.backend, args.port, args.paths)
        return
    if args.dataset:
        from dataset import ensure, photo_count

        args.saved = ensure(args.backend, photo_count(args.dataset)).url
    if args.before is None:
        parser.error("--before: the checkout to compare with is required")
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        trees = [(args.before.resolve(), 8711), (HERE.parent, 8712)]
        servers = []
        for tree, port in trees:
            servers.append(_start(tree, args, port, folder))
            # Each loader names its PostgreSQL database by the second it starts in.
            time.sleep(1.5)
        try:
            while not all((folder / f"paths-{p}.json").exists() for _, p in trees):
                if any(s.poll() is not None for s in servers):
                    raise SystemExit("a server stopped while loading")
                time.sleep(1)
            time.sleep(2)  # the servers' sockets open after the paths are written
            clients = [_signed_in(port) for _, port in trees]
            paths = [json.loads((folder / f"paths-{p}.json").read_text()) for _, p in trees]
            times: dict[str, tuple[list[float], list[float]]] = {p: ([], []) for p in PAGES}
            for turn in range(args.rounds + 2):
                for page in PAGES:
                    for which in (0, 1) if turn % 2 == 0 else (1, 0):
                        started = time.perf_counter()
                        answer = clients[which].get(paths[which][page])
                        took = (time.perf_counter() - started) * 1000
                        assert answer.status_code == 200, (page, answer.status_code)
                        if turn >= 2:  # two turns to warm up
                            times[page][which].append(took)
        finally:
            for server in servers:
                server.terminate()
                server.wait()
    from common import print_table  # not in a server: it loads the other tree's ``common``

    rows = []
    for page, (before, after) in times.items():
        ratios = [a / b for b, a in zip(before, after, strict=True)]
        middle = [round(statistics.median(t), 1) for t in (before, after)]
        rows.append([page, *middle, f"{statistics.median(ratios):.3f}"])
    print_table(
        f"counting pages, {args.backend}, "
        + (f"the saved set of {args.dataset}" if args.dataset else f"{args.images:,} images")
        + f", {args.rounds} alternating pairs",
        ["page", "before ms", "this tree ms", "median ratio"],
        rows,
    )


if __name__ == "__main__":
    main()
