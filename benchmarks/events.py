"""Events: grouping a deployment's photos from scratch, and placing one new photo.

Images are bulk-loaded straight through the repository (no files behind them): camera-trap
bursts (a few frames a second apart, bursts minutes to hours apart) spread over deployments.
Then every deployment is grouped once (the initial grouping a migration's regrouping does),
then once more (as a change of rule regroups what is grouped), and single photos are added at
random times, each in its own transaction, as uploads add them.
Run ``python benchmarks/events.py --help``; the issue's budget is 1,000,000 images over 500
deployments grouped in 30 s, and one new photo placed in 5 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from common import (
    Timings,
    _create_postgres_database,
    _drop_postgres_database,
    _sqlalchemy_url,
    machine_speed_ms,
    print_table,
    timed,
)
from sqlalchemy import text

from trapline.db.engine import Database
from trapline.db.migrate import upgrade
from trapline.domain.core.event_rules import EventRule, Grouping

#: Rows per bulk insert transaction.
BATCH_SIZE = 20_000
#: The year the capture times start in.
START = datetime(2024, 1, 1)


def _rows(deployment: int, count: int, rng: random.Random) -> list[dict[str, Any]]:
    """``count`` photos of one deployment: bursts of 1 to 10 frames 1 to 5 s apart."""
    rows = []
    moment = START + timedelta(seconds=rng.randrange(86_400))
    while len(rows) < count:
        for _ in range(rng.randint(1, 10)):
            sha = hashlib.sha256(f"{deployment}-{len(rows)}".encode()).hexdigest()
            rows.append(
                {
                    "deployment_id": deployment,
                    "storage_key": sha,
                    "filename": f"{sha[:12]}.jpg",
                    "sha256": sha,
                    "size_bytes": 1,
                    "width": 1,
                    "height": 1,
                    "content_type": "image/jpeg",
                    "captured_at": moment,
                    "captured_offset_minutes": 0,
                    "source": "upload",
                }
            )
            moment += timedelta(seconds=rng.randint(1, 5))
        moment += timedelta(seconds=rng.randint(120, 6 * 3600))
    return rows[:count]


def _load(db: Database, images: int, deployments: int, rule: EventRule) -> tuple[int, list[int]]:
    """A project of ``images`` photos over ``deployments``; its id and its deployments'."""
    rng = random.Random(7)
    with db.write() as repos:
        user = repos.core.users.create(email="bench@example.org", name="Bench")
        project = repos.core.projects.create("Events benchmark", "", user.id)
        repos.ecology.events.set_project_rule(project.id, Grouping(rule, 60))
        ids = [
            repos.core.deployments.create(project.id, name=f"Trap {n}").id
            for n in range(deployments)
        ]
    per = images // deployments
    pending: list[dict[str, Any]] = []
    for deployment in ids:
        pending.extend(_rows(deployment, per, rng))
        if len(pending) >= BATCH_SIZE or deployment == ids[-1]:
            with db.write() as repos:
                repos.photos.images.bulk_insert(project.id, pending)
            pending = []
    return project.id, ids


def _add_one(
    db: Database, project_id: int, deployment: int, rng: random.Random, placing: list[float]
) -> None:
    """Insert one photo and place it, in one transaction; the placing's seconds go to
    ``placing`` (the rest is the insert and the commit, which any upload pays)."""
    moment = START + timedelta(seconds=rng.randrange(200 * 86_400))
    sha = uuid.uuid4().hex * 2
    with db.write() as repos:
        image = repos.photos.images.insert(
            project_id=project_id,
            deployment_id=deployment,
            storage_key=sha,
            filename="new.jpg",
            sha256=sha,
            size_bytes=1,
            width=1,
            height=1,
            content_type="image/jpeg",
            captured_at=moment,
            captured_offset_minutes=0,
        )
        assert image is not None
        started = time.perf_counter()
        repos.ecology.events.add(image.id)
        placing.append(time.perf_counter() - started)


def run(backend: str, images: int, deployments: int, adds: int, rule: EventRule) -> list[Any]:
    """Load, group and add; one table row of figures."""
    name = f"trapline_bench_events_{uuid.uuid4().hex[:8]}"
    folder = Path(tempfile.mkdtemp(prefix="trapline-events-"))
    url = (
        f"sqlite:///{folder / 'bench.db'}"
        if backend == "sqlite"
        else _sqlalchemy_url(_create_postgres_database(name))
    )
    db = Database.from_url(url)
    try:
        upgrade(db.engine)
        project_id, ids = _load(db, images, deployments, rule)
        # As autovacuum would after a bulk load: the planner then takes the deployment's index.
        db.refresh_statistics("images")
        started = time.perf_counter()
        for deployment in ids:
            with db.write() as repos:
                repos.ecology.events.regroup(deployment)
        grouping = time.perf_counter() - started
        # Grouping again what is grouped already, as a change of rule does.
        started = time.perf_counter()
        for deployment in ids:
            with db.write() as repos:
                repos.ecology.events.regroup(deployment)
        regrouping = time.perf_counter() - started
        if backend != "sqlite":
            # Grouping rewrote every image row; autovacuum would clear the old versions soon
            # after, and the placing below measures that steady state.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("VACUUM ANALYZE images"))
        with db.read() as repos:
            made = sum(repos.ecology.events.page(d, limit=1, offset=0)[0] for d in ids)
        rng = random.Random(11)
        placing: list[float] = []
        whole = timed(
            lambda: _add_one(db, project_id, rng.choice(ids), rng, placing),
            warmups=5,
            repeats=adds,
        )
        place = Timings(tuple(placing[5:]))
        return [
            backend,
            rule.value,
            f"{images:,}",
            deployments,
            f"{made:,}",
            round(grouping, 1),
            round(images / grouping),
            round(regrouping, 1),
            round(place.median_ms, 2),
            round(place.p95_ms, 2),
            round(whole.median_ms, 2),
        ]
    finally:
        db.dispose()
        if backend != "sqlite":
            _drop_postgres_database(name)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200_000)
    parser.add_argument("--deployments", type=int, default=100)
    parser.add_argument("--adds", type=int, default=300, help="single photos placed, timed")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="sqlite")
    parser.add_argument("--rule", choices=[r.value for r in EventRule], default="sequence")
    args = parser.parse_args(argv)
    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    speed = machine_speed_ms()
    rows = [
        run(b, args.images, args.deployments, args.adds, EventRule(args.rule)) for b in backends
    ]
    print_table(
        f"Events (machine speed {speed:.0f} ms; budget: 1,000,000 images in 30 s, one photo 5 ms)",
        [
            "backend",
            "rule",
            "images",
            "deployments",
            "events",
            "grouping s",
            "images/s",
            "regrouping s",
            "place p50 ms",
            "place p95 ms",
            "insert+place+commit p50 ms",
        ],
        rows,
    )


if __name__ == "__main__":
    main()
