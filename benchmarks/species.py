"""The species view, a taxon's page and the taxon type-ahead, in a project of N images.

Images are bulk-loaded as ``occurrence_counts.py`` loads them (20 deployments, nights); each
fourth photo gets an occurrence of eight detections (2,000,000 detections at 1,000,000
images) labelled from 40 species, tallied as tracking tallies them. A taxa list of 100,000
taxa (kingdom, 10 orders, 100 families, 1,000 genera, the rest species) is stored, the 40
labels among its species, and the labels are mapped onto it as an import maps them. The API
is timed in process (server time, no network). The issue's budgets: the species view
150 ms at 1,000,000 images and 2,000,000 detections, the type-ahead 30 ms over 100,000 taxa.
Run ``python benchmarks/species.py --help``.
"""

from __future__ import annotations

import argparse
import time

from common import machine_speed_ms, print_table, timed
from fastapi.testclient import TestClient
from occurrence_counts import bench_platform, load_nights
from sqlalchemy import text

from trapline.app import create_app
from trapline.domain.taxa.taxa import ParentRef, Rank, TaxonEntry
from trapline.platform import Platform
from trapline.services.core import users
from trapline.services.taxa.taxa import refresh_taxa
from trapline.services.taxa.taxa_import import store_entries

DEPLOYMENTS = 20
SPECIES = 40
TAXA = 100_000
API = "/api/v2"

#: One occurrence per fourth photo of each event, of eight detections, labelled as one of
#: the first SPECIES species of the list.
_OCCURRENCES = """
INSERT INTO occurrences (project_id, deployment_id, event_id, pipeline, first_seen_at,
    first_offset_minutes, last_seen_at, last_offset_minutes, detection_count,
    best_annotation_id, label, score, determined_by, edited, disputed)
SELECT project_id, deployment_id, ie.event_id, 'bench', captured_at, 120, captured_at, 120, 8,
    id, 'Genus 0 species ' || (id % :species), 0.5 + (id % 50) / 100.0, 'model', :no, :no
FROM images JOIN image_events ie ON ie.image_id = images.id WHERE id % 4 = 0
"""


def taxa_entries(count: int) -> list[TaxonEntry]:
    """A list of ``count`` taxa, parents first: a kingdom, 10 orders, 100 families, 1,000
    genera and species under them (``Genus g species s``)."""
    entries = [TaxonEntry(1, "Animalia", Rank.KINGDOM, None)]
    for o in range(10):
        entries.append(TaxonEntry(0, f"Order {o}", Rank.ORDER, ParentRef("Animalia")))
    for f in range(100):
        entries.append(TaxonEntry(0, f"Family {f}", Rank.FAMILY, ParentRef(f"Order {f % 10}")))
    for g in range(1000):
        entries.append(TaxonEntry(0, f"Genus {g}", Rank.GENUS, ParentRef(f"Family {g % 100}")))
    s = 0
    while len(entries) < count:
        genus = s % 1000
        entries.append(
            TaxonEntry(
                0, f"Genus {genus} species {s // 1000}", Rank.SPECIES, ParentRef(f"Genus {genus}"),
                vernacular={"en": f"common {s}"},
            )
        )  # fmt: skip
        s += 1
    return entries


def _load(platform: Platform, images: int) -> tuple[int, int, str, dict[str, float]]:
    """The project, a genus, an API token, and how long each step of loading took."""
    db = platform.db
    project, _, _, steps = load_nights(platform, images, _OCCURRENCES, species=SPECIES, no=False)
    started = time.perf_counter()
    with db.write() as repos:
        taxa_list = repos.taxa.taxa.create_list("Bench list", project)
        repos.taxa.taxa.use_list(project, taxa_list.id)
        store_entries(repos, taxa_list.id, taxa_entries(TAXA))
    steps["taxa"] = time.perf_counter() - started
    started = time.perf_counter()
    with db.write() as repos:
        refresh_taxa(repos, project)
        genus = repos.session.scalar(text("SELECT id FROM taxa WHERE scientific_name = 'Genus 0'"))
    steps["mapping"] = time.perf_counter() - started
    token = users.create_token_for_email(db, "bench@example.org", "bench").secret
    return project, int(genus or 0), token, steps


def run(images: int, backend: str, repeats: int) -> None:
    with bench_platform(backend) as platform:
        project, taxon, token, steps = _load(platform, images)
        with platform.db.read() as repos:
            counted = repos.session.scalar(text("SELECT count(*) FROM occurrences"))
            detections = repos.session.scalar(text("SELECT sum(detection_count) FROM occurrences"))
        headers = {"Authorization": f"Token {token}"}
        client = TestClient(create_app(platform))
        client.__enter__()
        calls = {
            "species view": (f"/projects/{project}/species", {}, 150.0),
            "species view, rolled up to family": (
                f"/projects/{project}/species", {"rank": "family"}, 150.0,
            ),
            "species view, one deployment": (
                f"/projects/{project}/species", {"deployment_id": 1}, 150.0,
            ),
            "a genus's page": (f"/projects/{project}/taxa/{taxon}", {}, None),
            "type-ahead 'genus 4'": (
                f"/projects/{project}/taxa/search", {"q": "genus 4"}, 30.0,
            ),
            "type-ahead 'common 9'": (
                f"/projects/{project}/taxa/search", {"q": "common 9"}, 30.0,
            ),
        }  # fmt: skip
        rows = []
        for label, (path, params, budget) in calls.items():
            first = client.get(f"{API}{path}", params=params, headers=headers)
            assert first.status_code == 200, first.text
            timing = timed(
                lambda p=path, q=params: client.get(f"{API}{p}", params=q, headers=headers),
                warmups=2,
                repeats=repeats,
            )
            rows.append((label, round(timing.median_ms, 1), round(timing.p95_ms, 1), budget or ""))
        client.__exit__(None, None, None)
    print(f"{backend}: {images:,} images, {counted:,} occurrences, {detections:,} detections, "
          f"{TAXA:,} taxa; loading took "
          + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))  # fmt: skip
    print_table(
        f"species view and type-ahead ({backend}, {images:,} images, median of {repeats}; "
        "in-process API, server time)",
        ["call", "median ms", "p95 ms", "budget ms"],
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
