"""What a person's identification of one occurrence costs on a crowded night, on the
realistic set.

A copy of the saved set (``dataset.py``; SQLite) is opened, and ``--count`` occurrences of the
event with the most occurrences of the measured project's counting pipeline are identified in
turn by the service the identify form runs (``identify_occurrence``), alternately naming a
species and agreeing with the model. The table gives each kind's median and slowest wall time
and the event's size. The copy is deleted afterwards: the saved set is not changed.

Run ``python benchmarks/identify.py --dataset 10k|100k [--count 40]``.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from dataclasses import replace
from pathlib import Path

from common import machine_speed_ms, print_table
from dataset import OWNER, counted_by, ensure, opened, photo_count
from sqlalchemy import text

from trapline.errors import InvalidInput
from trapline.platform import Platform
from trapline.services.review.identifications import identify_occurrence


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dataset", default="10k", help="10k, 100k or 1m photos")
    parser.add_argument("--count", type=int, default=40, help="occurrences identified")
    args = parser.parse_args()
    dataset = ensure("sqlite", photo_count(args.dataset))
    source = Path(dataset.url.removeprefix("sqlite:///"))
    with tempfile.TemporaryDirectory(prefix="trapline-identify-") as folder:
        copy = Path(folder) / source.name
        shutil.copyfile(source, copy)
        with opened(replace(dataset, url=f"sqlite:///{copy}")) as platform:
            event, size, timings = _identify(platform, dataset.project_id, args.count)
    print_table(
        f"identifying occurrences of the most crowded event ({args.dataset} photos, SQLite; "
        f"event {event} of {size:,} occurrences; machine speed {machine_speed_ms():.0f} ms)",
        ["identification", "count", "median ms", "slowest ms"],
        [
            [kind, len(ms), f"{statistics.median(ms):.1f}", f"{max(ms):.1f}"]
            for kind, ms in timings.items()
            if ms
        ],
    )


def _identify(
    platform: Platform, project_id: int, count: int
) -> tuple[int, int, dict[str, list[float]]]:
    db = platform.db
    with db.read() as repos:
        pipeline = counted_by(repos, project_id)
        event, size = repos.session.execute(
            text(
                "SELECT event_id, count(*) FROM occurrences WHERE project_id = :p"
                " AND pipeline = :pipeline GROUP BY event_id ORDER BY count(*) DESC LIMIT 1"
            ),
            {"p": project_id, "pipeline": pipeline},
        ).one()
        chosen = [
            int(i)
            for i in repos.session.scalars(
                text(
                    "SELECT id FROM occurrences WHERE event_id = :e AND pipeline = :pipeline"
                    " AND identified_by IS NULL ORDER BY id LIMIT :n"
                ),
                {"e": event, "pipeline": pipeline, "n": count},
            )
        ]
        species = [
            int(i)
            for i in repos.session.scalars(
                text("SELECT id FROM taxa WHERE rank = 'species' ORDER BY id LIMIT 50")
            )
        ]
        owner = repos.core.users.by_email(OWNER)
    assert owner is not None
    timings: dict[str, list[float]] = {"naming a species": [], "agreeing with the model": []}
    for n, occurrence_id in enumerate(chosen):
        started = time.perf_counter()
        kind = "naming a species"
        try:
            if n % 2:
                kind = "agreeing with the model"
                identify_occurrence(db, owner, occurrence_id, agree_with="model")
            else:
                identify_occurrence(db, owner, occurrence_id, taxon_id=species[n % len(species)])
        except InvalidInput:  # the model's label names no taxon
            continue
        timings[kind].append((time.perf_counter() - started) * 1000)
    return int(event), int(size), timings


if __name__ == "__main__":
    main()
