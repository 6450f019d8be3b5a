"""Carrying people's work over a re-run: what tracking an event again costs per detection when
every detection of it is new (the pipeline run again over the same photos, its boxes drawn a
few pixels off), with identifications on a share of the occurrences to move and the
occurrences' ids to inherit.

A light-trap project of ``--nights`` nights, ``--photos`` photos a night and ``--boxes`` still
insects a photo (each with a feature vector, so no photo is decoded); a second pipeline's
results on the same photos (counts never add it, but its detections are read and tracked
too); every event tracked; one occurrence in ten identified. Then the counted pipeline's
results are stored again with every box moved 2 px, and every event is tracked again: the
figure is that second tracking's wall time over the detections it carried. The issue's budget
is 2 ms a detection at 100,000 detections, on both databases.

Run ``python benchmarks/carry_over.py --backend both`` (100,000 detections of the counted
pipeline by default: 50 nights x 200 photos x 10 boxes).
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from common import _create_postgres_database, _drop_postgres_database, machine_speed_ms, print_table

from trapline.db.engine import Database
from trapline.db.migrate import upgrade
from trapline.domain.core.event_rules import ProjectKind
from trapline.domain.processing.results import AnalysisDraft, AnnotationDraft, AnnotationType, Box
from trapline.protocol.pipelines import PipelineConfig
from trapline.services.ecology.tracking import track_due
from trapline.services.exports.imports import store_imported
from trapline.services.taxa.taxa import import_taxa
from trapline.storage.local import LocalBlobStore

START = datetime(2024, 6, 1, 22, 0)


def _drafts(images: list[int], boxes: int, shift: float, seed: int) -> list[AnalysisDraft]:
    looks = [[random.Random(seed * 1000 + n).random() for _ in range(8)] for n in range(boxes)]
    drafts = []
    for image_id in images:
        found = []
        for n in range(boxes):  # insect n sits still at its place all night
            x, y = 40 + (n % 5) * 120 + shift, 40 + (n // 5) * 120
            vector = looks[n]
            found.append(
                AnnotationDraft(
                    AnnotationType.BOUNDING_BOX,
                    "moth",
                    0.9,
                    Box(x, y, x + 60, y + 50),
                    None,
                    data={"features": vector},
                )
            )
        drafts.append(AnalysisDraft(None, image_id, 0.1, None, tuple(found)))
    return drafts


def measure(url: str, nights: int, photos: int, boxes: int) -> dict[str, float]:
    db = Database.from_url(url)
    upgrade(db.engine)
    store = LocalBlobStore(Path(tempfile.mkdtemp()), b"0" * 32)
    with db.write() as repos:
        user = repos.core.users.create(email="bench@example.org", name="Bench")
        project = repos.core.projects.create("Carry", "", user.id, ProjectKind.LIGHT_TRAP)
        deployment = repos.core.deployments.create(project.id, name="Sheet")
        images = [
            repos.photos.images.insert(
                project_id=project.id, deployment_id=deployment.id, storage_key=f"k{n}",
                filename=f"{n}.jpg", sha256=f"{n:064d}", size_bytes=1, width=800, height=600,
                content_type="image/jpeg",
                captured_at=START + timedelta(days=n // photos, seconds=60 * (n % photos)),
                captured_offset_minutes=0,
            ).id
            for n in range(nights * photos)
        ]  # fmt: skip
        repos.ecology.events.regroup(deployment.id)
        ids = {}
        for slug in ("counted", "other"):
            config = PipelineConfig(name=slug, slug=slug, version=1, algorithms=[])
            repos.pipelines.pipelines.register(project.id, "bench", [config], datetime.now(UTC))
            ids[slug] = repos.pipelines.pipelines.resolve(project.id, slug).id  # type: ignore[union-attr]
    for slug, seed in (("counted", 1), ("other", 2)):
        for start in range(0, len(images), 1000):
            with db.write() as repos:
                chunk = images[start : start + 1000]
                store_imported(repos, project.id, ids[slug], _drafts(chunk, boxes, 0, seed))
    while track_due(db, store, limit=50):
        pass
    import_taxa(db, user, project.id, b"scientific_name,rank\nNoctuidae,family\n", "taxa.csv")
    with db.write() as repos:
        repos.core.projects.update(project.id, counting_pipeline="counted")
        taxa_list = repos.taxa.taxa.list_of(project.id)
        assert taxa_list is not None
        (taxon,) = repos.taxa.taxa.search(taxa_list.id, "noct", 1)
        for event in repos.ecology.events.page(deployment.id, limit=10_000, offset=0)[1]:
            _, found = repos.ecology.occurrences.of_event(
                event.id, "counted", limit=10_000, offset=0
            )
            for o in found[::10]:  # one occurrence in ten identified
                repos.review.identifications.add(
                    project_id=project.id, occurrence_id=o.id, annotation_id=o.best_annotation_id,
                    taxon_id=taxon.id, agreed_with=None, comment="", user_id=user.id,
                    at=datetime.now(UTC),
                )  # fmt: skip
    for start in range(0, len(images), 1000):
        with db.write() as repos:
            chunk = images[start : start + 1000]
            store_imported(repos, project.id, ids["counted"], _drafts(chunk, boxes, 2.0, 1))
    started = time.perf_counter()
    while track_due(db, store, limit=50):
        pass
    elapsed = time.perf_counter() - started
    with db.read() as repos:
        unplaced, _ = repos.review.identifications.unplaced(project.id, limit=1, offset=0)
    db.dispose()
    carried = nights * photos * boxes
    return {"detections": carried, "seconds": elapsed, "ms": elapsed * 1000 / carried,
            "unplaced": unplaced}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--nights", type=int, default=50)
    parser.add_argument("--photos", type=int, default=200)
    parser.add_argument("--boxes", type=int, default=10)
    args = parser.parse_args()
    speed = machine_speed_ms()
    rows = []
    for backend in ("sqlite", "postgres") if args.backend == "both" else (args.backend,):
        if backend == "sqlite":
            url = f"sqlite:///{tempfile.mkdtemp()}/carry.db"
            found = measure(url, args.nights, args.photos, args.boxes)
        else:
            url = _create_postgres_database("trapline_bench_carry")
            try:
                found = measure(url, args.nights, args.photos, args.boxes)
            finally:
                _drop_postgres_database("trapline_bench_carry")
        rows.append([backend, f"{found['detections']:,}", f"{found['seconds']:.1f}",
                     f"{found['ms']:.2f}", found["unplaced"]])  # fmt: skip
    print_table(
        f"re-run carried over (machine speed {speed:.0f} ms)",
        ["database", "detections", "tracking again (s)", "ms per detection", "unplaced"],
        rows,
    )


if __name__ == "__main__":
    main()
