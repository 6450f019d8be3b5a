"""The pages that count occurrences, in a project of N images: the project page (occurrences
per label) and a deployment's page (images, detections and occurrences per night).

Images are bulk-loaded (no files behind them) over 20 deployments, grouped into events (the
night rule), and each event gets occurrences straight in SQL: one per four photos, labelled
from 40 species, tallied as tracking tallies them. A person signs in through the form and an
in-process client times each page (server time, no network). The issue's budget is 100 ms for
the project page at 1,000,000 images. Run ``python benchmarks/occurrence_counts.py --help``.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from common import (
    _create_postgres_database,
    _drop_postgres_database,
    _sqlalchemy_url,
    machine_speed_ms,
    print_table,
    timed,
)
from fastapi.testclient import TestClient
from listing import bulk_load
from sqlalchemy import text

from trapline.app import create_app
from trapline.db.migrate import upgrade
from trapline.db.repositories.ecology.counts import tally_events
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.platform import Platform
from trapline.services.core import accounts
from trapline.settings import Settings

DEPLOYMENTS = 20
SPECIES = 40
PASSWORD = "benchmark password"

#: One occurrence per fourth photo of each event, its label one of SPECIES.
_OCCURRENCES = """
INSERT INTO occurrences (project_id, deployment_id, event_id, pipeline, first_seen_at,
    first_offset_minutes, last_seen_at, last_offset_minutes, detection_count,
    best_annotation_id, label, score, determined_by, edited)
SELECT project_id, deployment_id, ie.event_id, 'bench', captured_at, 120, captured_at, 120, 3,
    id, 'species ' || (id % :species), 0.8, 'model', :no
FROM images JOIN image_events ie ON ie.image_id = images.id WHERE id % 4 = 0
"""


def load_nights(
    platform: Platform, images: int, occurrences: str, **params: object
) -> tuple[int, list[int], int, dict[str, float]]:
    """A project of ``images`` photos over DEPLOYMENTS deployments grouped into nights, with
    occurrences made by the SQL ``occurrences`` and tallied: the project, its deployments,
    its owner, and how long each step of loading took."""
    db, steps = platform.db, {}
    with db.write() as repos:
        owner = repos.core.users.create("bench@example.org", "Bench", is_admin=True)
        project = repos.core.projects.create("Counting", "", owner.id)
        repos.ecology.events.set_project_rule(project.id, Grouping(EventRule.NIGHT))
        deployments = [
            repos.core.deployments.create(project.id, name=f"trap {n}", time_zone="UTC").id
            for n in range(DEPLOYMENTS)
        ]
    steps["images"] = bulk_load(db, project.id, images, deployments, owner.id)
    started = time.perf_counter()
    for deployment in deployments:
        with db.write() as repos:
            repos.ecology.events.regroup(deployment)
    steps["events"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.write() as repos:
        repos.session.execute(text(occurrences), params)
        events = [int(e) for e in repos.session.scalars(text("SELECT id FROM events"))]
    for start in range(0, len(events), 1000):
        with db.write() as repos:
            tally_events(repos.session, events[start : start + 1000])
    steps["occurrences"] = time.perf_counter() - started
    return project.id, deployments, owner.id, steps


@contextmanager
def bench_platform(backend: str) -> Iterator[Platform]:
    """A migrated platform on a new SQLite file or PostgreSQL database, dropped afterwards."""
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{folder}/bench.db"
        name = None
        if backend == "postgres":
            name = f"trapline_bench_{int(time.time())}"
            url = _sqlalchemy_url(_create_postgres_database(name))
        settings = Settings(
            data_dir=Path(folder) / "data",
            database_url=url,
            secret_key="benchmark-secret-key",
            duties_enabled=False,
            _env_file=None,
        )
        platform = Platform.from_settings(settings)
        try:
            upgrade(platform.db.engine)
            yield platform
        finally:
            platform.close()
            if name is not None:
                _drop_postgres_database(name)


def _signed_in(platform: Platform) -> TestClient:
    client = TestClient(create_app(platform))
    client.__enter__()
    page = client.get("/signin").text
    token = page.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    answer = client.post(
        "/signin",
        data={"csrf": token, "email": "bench@example.org", "password": PASSWORD, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


def run(images: int, backend: str, repeats: int) -> None:
    with bench_platform(backend) as platform:
        project, deployments, owner, steps = load_nights(
            platform, images, _OCCURRENCES, species=SPECIES, no=False
        )
        accounts.set_password(platform.db, None, owner, PASSWORD)
        with platform.db.read() as repos:
            counted = repos.session.scalar(text("SELECT count(*) FROM occurrences"))
        client = _signed_in(platform)
        pages = {  # (path, budget in ms: the issue sets one for the project page only)
            "project page": (f"/projects/{project}", "100"),
            "deployment page": (f"/deployments/{deployments[0]}", "-"),
        }
        rows = []
        for label, (path, budget) in pages.items():
            assert client.get(path).status_code == 200
            timing = timed(lambda p=path: client.get(p), warmups=2, repeats=repeats)
            rows.append((label, round(timing.median_ms, 1), round(timing.p95_ms, 1), budget))
        client.__exit__(None, None, None)
    print(f"{backend}: {images:,} images, {counted:,} occurrences; loading took "
          + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))  # fmt: skip
    print_table(
        f"pages counting occurrences ({backend}, {images:,} images, median of {repeats})",
        ["page", "median ms", "p95 ms", "budget ms"],
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1_000_000)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    print(f"machine speed: {machine_speed_ms():.0f} ms")
    run(args.images, args.backend, args.repeats)


if __name__ == "__main__":
    main()
