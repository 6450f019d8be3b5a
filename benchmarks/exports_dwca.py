"""Occurrence exports (Darwin Core Archive, Antenna's occurrence CSV and JSON): time and
memory over a project of N occurrences.

Images are bulk-loaded (no files behind them) over 10 deployments with coordinates and
grouped into events by night; each gets one box with a classification (four insect
orders), stored as a pipeline's results; each box is an occurrence of its own, inserted
straight in SQL with its detection link, its taxon (a taxa list Animalia > Arthropoda >
Insecta > the four orders) and, for one in a hundred, a person's identification. An
``ExportRunner`` of this process then writes each format, as a server does, while the
benchmark samples its RSS every 50 ms. The issue's goal is 90 s and 150 MB of RSS growth
for 1,000,000 occurrences; a smaller run is judged on a linear projection of its time.
``--processes`` (the server's default, 2) writes the formats that can be written in parts
by that many processes of their own from 50,000 photos (decision 082): their CPU is not in
the CPU column, and the largest one's peak RSS is given beside the runner's growth.
Run ``python benchmarks/exports_dwca.py --help``.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta

from common import (
    machine_speed_ms,
    print_table,
)
from exports import LABELS, PeakRss, load_results, process_cpu_seconds
from listing import bulk_load
from occurrence_counts import bench_platform
from sqlalchemy import text

from trapline.background.exports import ExportRunner
from trapline.cli import tuning
from trapline.domain.core.event_rules import EventRule, Grouping
from trapline.domain.core.records import Contact
from trapline.domain.exports.exports import ExportFilters, ExportFormat, ExportStatus
from trapline.domain.taxa.taxa import ParentRef, Rank, TaxonEntry
from trapline.platform import Platform
from trapline.protocol.pipelines import PipelineConfig
from trapline.services.taxa.taxa_import import store_entries
from trapline.settings.runners import ExportSettings

#: Goal for 1,000,000 occurrences: seconds and RSS growth (MB).
TARGET_SECONDS = 90.0
TARGET_RSS_MB = 150.0
DEPLOYMENTS = 10
#: The formats timed; ``csv`` (a row per detection, no occurrences read) for reference.
FORMATS = ("dwca", "occurrences-csv", "occurrences-json", "csv")
#: Formats of a row per occurrence: judged per 1,000,000 occurrences; the others (a row per
#: photo or detection) per 1,000,000 photos, within a minute (docs/benchmarks.md's budgets).
OCCURRENCE_FORMATS = ("dwca", "occurrences-csv", "occurrences-json")
TARGET_PHOTO_SECONDS = 60.0
HEADERS = (
    "format", "median s", "max s", "s per 1M", "CPU µs per", "per", "max RSS +MB",
    "part process peak MB", "file MB", "goal",
)  # fmt: skip
#: The taxa the occurrences name: the orders are the classifier's labels.
TAXA = [
    TaxonEntry(1, "Animalia", Rank.KINGDOM, None, gbif_key=1),
    TaxonEntry(2, "Arthropoda", Rank.PHYLUM, ParentRef("Animalia"), gbif_key=54),
    TaxonEntry(3, "Insecta", Rank.CLASS, ParentRef("Arthropoda"), gbif_key=216),
    *(
        TaxonEntry(4 + n, name, Rank.ORDER, ParentRef("Insecta"), gbif_key=797 + n,
                   vernacular={"en": f"{name} (common)"})
        for n, name in enumerate(LABELS)
    ),
]  # fmt: skip
#: One occurrence per box (its classification's label), in its image's event.
_OCCURRENCES = """
INSERT INTO occurrences (project_id, deployment_id, event_id, pipeline, first_seen_at,
    first_offset_minutes, last_seen_at, last_offset_minutes, detection_count,
    best_annotation_id, label, score, determined_by, disputed, edited)
SELECT i.project_id, i.deployment_id, ie.event_id, 'bench', i.captured_at, 120, i.captured_at,
    120, 1, a.id, c.label, c.confidence, 'model', :no, :no
FROM annotations a JOIN images i ON i.id = a.image_id JOIN image_events ie ON ie.image_id = i.id
    JOIN annotations c ON c.parent_id = a.id
WHERE a.parent_id IS NULL
"""
_COUNTED = """
UPDATE deployments SET counting_pipeline = 'bench', counting_chosen = 'results'
"""
_LINKS = """
INSERT INTO occurrence_detections (annotation_id, occurrence_id, image_id)
SELECT o.best_annotation_id, o.id, a.image_id
FROM occurrences o JOIN annotations a ON a.id = o.best_annotation_id
"""
_TAXA = """
UPDATE occurrences SET taxon_id = (SELECT t.id FROM taxa t WHERE t.scientific_name =
    occurrences.label AND t.list_id = :list)
"""
_IDENTIFIED = """
INSERT INTO identifications (project_id, occurrence_id, annotation_id, taxon_id, agreed_with,
    comment, user_id, withdrawn, created_at)
SELECT project_id, id, best_annotation_id, taxon_id, 'model', '', :user, :no, :now
FROM occurrences WHERE id % 100 = 0
"""
_PERSON = """
UPDATE occurrences SET determined_by = 'person', identified_by = 'Bench', score = NULL
WHERE id % 100 = 0
"""


def load(platform: Platform, images: int) -> tuple[int, int, dict[str, float]]:
    """The project, its occurrences, and how long each step of loading took."""
    db, steps = platform.db, {}
    now = datetime.now(UTC)
    with db.write() as repos:
        owner = repos.core.users.create("bench@example.org", "Bench", is_admin=True)
        project = repos.core.projects.create("Occurrence export", "Moths of ten traps", owner.id)
        repos.core.projects.update(
            project.id,
            licence="CC-BY-4.0",
            contacts=(Contact("Bench Person", "bench@example.org", "Bench Lab", "creator"),),
        )
        repos.ecology.events.set_project_rule(project.id, Grouping(EventRule.NIGHT))
        deployments = [
            repos.core.deployments.create(
                project.id, name=f"trap {n}", latitude=45 + n / 10, longitude=-73.5,
                time_zone="UTC",
            ).id
            for n in range(DEPLOYMENTS)
        ]  # fmt: skip
        repos.pipelines.pipelines.register(project.id, "bench", [_pipeline()], now)
    steps["images"] = bulk_load(db, project.id, images, deployments, owner.id, unknown_share=0)
    steps["results"] = load_results(db, project.id, 1)
    started = time.perf_counter()
    for deployment in deployments:
        with db.write() as repos:
            repos.ecology.events.regroup(deployment)
    steps["events"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.write() as repos:
        taxa_list = repos.taxa.taxa.create_list("Insect orders", project.id)
        repos.taxa.taxa.use_list(project.id, taxa_list.id)
        store_entries(repos, taxa_list.id, TAXA)
        session = repos.session
        session.execute(text(_OCCURRENCES), {"no": False})
        session.execute(text(_LINKS))
        session.execute(text(_TAXA), {"list": taxa_list.id})
        session.execute(text(_IDENTIFIED), {"user": owner.id, "no": False, "now": now})
        session.execute(text(_PERSON))
        # What the first tracking would have chosen (decision 056): the bench pipeline counts.
        session.execute(text(_COUNTED))
        occurrences = int(session.scalar(text("SELECT count(*) FROM occurrences")) or 0)
    for table in ("occurrences", "occurrence_detections", "identifications", "annotations"):
        db.refresh_statistics(table)
    steps["occurrences"] = time.perf_counter() - started
    return project.id, occurrences, steps


def _pipeline() -> PipelineConfig:
    return PipelineConfig.model_validate(
        {
            "name": "bench pipeline", "slug": "bench", "version": 1,
            "algorithms": [
                {"name": "detector", "key": "bench-det", "task_type": "detection"},
                {"name": "order classifier", "key": "bench-cls", "task_type": "classification",
                 "category_map": {"labels": LABELS}},
            ],
        }
    )  # fmt: skip


def export_once(
    platform: Platform, project_id: int, fmt: str, processes: int = 1
) -> tuple[float, float, int, float]:
    """Seconds from start to file stored, RSS growth (MB), file size and CPU seconds (of this
    process) of one export run by an ``ExportRunner`` of this process (with a public URL for
    the links; ``processes`` write it in parts where the format can be)."""
    db, store = platform.db, platform.store
    runner = ExportRunner(
        db, store, name="benchmark", ttl=timedelta(hours=1), base_url="https://traps.example.org",
        processes=processes,
    )  # fmt: skip
    try:
        with db.write() as repos:
            export_id = repos.exports.exports.create(
                project_id, ExportFormat(fmt), ExportFilters(), None
            ).id
        cpu = process_cpu_seconds()
        with PeakRss(os.getpid()) as rss:
            assert runner.run(export_id)
        cpu = process_cpu_seconds() - cpu
        with db.write() as repos:
            done = repos.exports.exports.get(export_id)
            assert done is not None
            repos.exports.exports.delete(export_id)
    finally:
        runner.close()
    if done.status is not ExportStatus.SUCCEEDED:
        raise RuntimeError(f"export {export_id} {done.status.value}: {done.error}")
    store.delete(str(done.blob_key))
    seconds = (done.finished_at or done.created_at) - (done.started_at or done.created_at)
    return seconds.total_seconds(), rss.growth_mb, done.size_bytes or 0, cpu


def served_like(platform: Platform) -> None:
    """The process tuned as ``trapline serve`` tunes the server that runs exports (its
    start-up objects frozen out of the collector's walks: without that, each full collection
    walked the benchmark's modules and the exports took a seventh longer than a server's)."""
    tuning.apply(platform.settings.server)


def run(images: int, backend: str, repeats: int, processes: int) -> None:
    with bench_platform(backend) as platform:
        project_id, occurrences, steps = load(platform, images)
        print(f"{backend}: {images:,} images, {occurrences:,} occurrences; loading took "
              + ", ".join(f"{k} {v:.0f} s" for k, v in steps.items()),
              file=sys.stderr, flush=True)  # fmt: skip
        _export_all(platform, project_id, occurrences, images, backend, repeats, processes)


def run_on_dataset(
    size: str, backend: str, repeats: int, formats: tuple[str, ...], processes: int
) -> None:
    """The formats exported from the saved realistic set (``dataset.py``): the counting
    pipeline's tracked occurrences of three pipeline versions' results, identifications and
    a taxa list."""
    from dataset import counted_by, ensure, opened, photo_count

    dataset = ensure(backend, photo_count(size))
    with opened(dataset) as platform:
        with platform.db.read() as repos:
            pipeline = counted_by(repos, dataset.project_id)
            occurrences = next(
                n
                for name, n, _ in repos.ecology.counts.pipelines(dataset.project_id)
                if name == pipeline
            )
        _export_all(
            platform, dataset.project_id, occurrences, dataset.images, backend, repeats,
            processes, formats,
        )  # fmt: skip


def _export_all(
    platform: Platform, project_id: int, occurrences: int, images: int, backend: str,
    repeats: int, processes: int, formats: tuple[str, ...] = FORMATS,
) -> None:  # fmt: skip
    served_like(platform)
    rows = []
    for fmt in formats:
        runs = [export_once(platform, project_id, fmt, processes) for _ in range(repeats)]
        median_s = statistics.median(r[0] for r in runs)
        growth = max(r[1] for r in runs)
        by_occurrence = fmt in OCCURRENCE_FORMATS
        per, target = (
            (occurrences, TARGET_SECONDS) if by_occurrence else (images, TARGET_PHOTO_SECONDS)
        )
        projected = median_s * 1_000_000 / per
        met = projected <= target and growth <= TARGET_RSS_MB
        rows.append(
            [fmt, median_s, max(r[0] for r in runs), projected,
             statistics.median(r[3] for r in runs) / per * 1e6,
             "occurrence" if by_occurrence else "photo", growth, _children_peak_mb(),
             runs[0][2] / 1e6,
             "met" if met else "MISSED"]
        )  # fmt: skip
        print(f"  {fmt}: {[round(r[0], 1) for r in runs]} s", file=sys.stderr, flush=True)
    print_table(
        f"occurrence exports (machine speed {machine_speed_ms():.0f} ms): {occurrences:,} "
        f"occurrences in {images:,} images, {backend}, in process, {processes} processes for "
        f"a format written in parts; {repeats} runs per format "
        f"(goal per 1,000,000 occurrences <= {TARGET_SECONDS:.0f} s, per 1,000,000 photos "
        f"<= {TARGET_PHOTO_SECONDS:.0f} s; <= {TARGET_RSS_MB:.0f} MB RSS growth)",
        HEADERS,
        rows,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=1_000_000, help="one occurrence each")
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: 20,000 images")
    parser.add_argument("--dataset", help="export the saved realistic data set of this size")
    parser.add_argument(
        "--processes",
        type=int,
        default=ExportSettings().processes,
        help="processes that write a format written in parts (1: all in this process)",
    )
    parser.add_argument(
        "--formats",
        default=",".join(FORMATS),
        help="with --dataset: the formats exported, by comma (camtrap-dp, megadetector, ...)",
    )
    args = parser.parse_args()
    if args.dataset:
        formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
        unknown = sorted(set(formats) - {f.value for f in ExportFormat})
        if unknown:
            parser.error(f"--formats: no such format {', '.join(unknown)}")
        run_on_dataset(args.dataset, args.backend, args.repeats, formats, args.processes)
        return
    run(20_000 if args.quick else args.images, args.backend, args.repeats, args.processes)


def _children_peak_mb() -> float:
    """The largest peak RSS of the processes this one started and saw end (MB)."""
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


if __name__ == "__main__":
    main()
