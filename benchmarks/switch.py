"""What a person's switch of a deployment's counting pipeline costs, on the realistic set.

A copy of the saved set (``dataset.py``; SQLite) is opened; its largest deployment, which
counts by one pipeline and has another's results tracked on it, is switched to the other and
back by the service a manager's click runs (``carrying.choose_counting``): each switch carries
every identification, review and published id of the old pipeline's individuals to the new
one's. The table gives the wall and CPU time of each switch, what was carried, and what could
not be (listed on the project page). The copy is deleted afterwards: the saved set is not
changed.

Run ``python benchmarks/switch.py --dataset 10k|100k|1m``.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import machine_speed_ms, print_table
from dataset import OWNER, ensure, opened, photo_count
from sqlalchemy import text

from trapline.services.ecology.carrying import choose_counting

#: What the switch carries, counted before and after (each on the deployment).
_COUNTS = {
    "identifications": (
        "SELECT count(*) FROM identifications i JOIN occurrence_detections od "
        "ON od.annotation_id = i.annotation_id JOIN occurrences o ON o.id = od.occurrence_id "
        "WHERE o.deployment_id = :d AND o.pipeline = :p AND i.withdrawn = false"
    ),
    "occurrences": "SELECT count(*) FROM occurrences WHERE deployment_id = :d AND pipeline = :p",
    "published ids": (
        "SELECT count(*) FROM occurrences WHERE deployment_id = :d AND pipeline = :p "
        "AND published_id IS NOT NULL"
    ),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="10k", help="10k, 100k or 1m photos")
    args = parser.parse_args()
    dataset = ensure("sqlite", photo_count(args.dataset))
    source = Path(dataset.url.removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory(prefix="trapline-switch-") as folder:
        copy = Path(folder) / source.name
        shutil.copyfile(source, copy)
        switched = replace(dataset, url=f"sqlite:///{copy}")
        with opened(switched) as platform:
            rows = _switch(platform, dataset.project_id)
    print_table(
        f"switching the counting pipeline of the largest deployment and back "
        f"({args.dataset} photos, SQLite; machine speed {machine_speed_ms():.0f} ms)",
        ["switch", "photos", "wall s", "CPU s", *_COUNTS, "not carried"],
        rows,
    )


def _switch(platform: object, project_id: int) -> list[tuple[object, ...]]:
    db = platform.db  # type: ignore[attr-defined]
    with db.read() as repos:
        owner = repos.core.users.by_email(OWNER)
        photos, deployment = repos.session.execute(
            text(
                "SELECT count(*), deployment_id FROM images WHERE project_id = :p "
                "GROUP BY deployment_id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"p": project_id},
        ).one()
        (listed,) = [
            d for d in repos.ecology.choices.listed(project_id) if d.deployment_id == deployment
        ]
    if owner is None or len(listed.tracked) < 2:
        raise SystemExit("the set has no deployment with two pipelines tracked: make it anew")
    first = listed.pipeline
    other = next(p for p, _, _ in listed.tracked if p != first)
    rows = []
    for before, after in ((first, other), (other, first)):
        wall, cpu = time.perf_counter(), time.process_time()
        choose_counting(db, owner, deployment, after)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        with db.read() as repos:
            carried = [
                f"{_count(repos, sql, deployment, before)} → "
                f"{_count(repos, sql, deployment, after)}"
                for sql in _COUNTS.values()
            ]
            listing = repos.ecology.choices.listed(project_id, tracked=False)
            (now,) = [d for d in listing if d.deployment_id == deployment]
        rows.append(
            (f"{before} → {after}", photos, round(wall, 2), round(cpu, 2), *carried,
             len(now.not_carried))
        )  # fmt: skip
    return rows


def _count(repos: object, sql: str, deployment: int, pipeline: str) -> int:
    session = repos.session  # type: ignore[attr-defined]
    return int(session.scalar(text(sql), {"d": deployment, "p": pipeline}) or 0)


if __name__ == "__main__":
    main()
