"""One realistic data set for every benchmark: three light-trap projects on one server, the
measured one of N photos, loaded through the repositories and services the product uses, and
saved so that later benchmarks reuse it.

What is in it: ``dataset_layout.py`` says which projects, deployments and nights there are,
``dataset_scene.py`` what is on each night's sheet and what each pipeline posts of it,
``dataset_pipelines.py`` which pipelines run over which photos. ``dataset_load.py`` loads it:
the photos with their cameras' wall-clock times and their zones' UTC offsets, as uploads store
them; their nights grouped into events; the pipelines registered as a worker registers them
and run as jobs, each storing its results batch by batch as the result path stores them (tasks
completed, analyses stored, the job finished), the species classifications' feature vectors
packed as the product packs a posted vector; a taxa list of a few thousand names the labels
map onto, which every project uses; reviews of one box in 200 and identifications of one
occurrence in 100 of the measured project (some agreeing with the model, some naming another
taxon, some disputed by a second person); every event of every project tracked into
occurrences by the tracking duty's own function.

Its shape (the 100,000-photo set; ``dataset_layout.py`` gives the rules):

- projects: the measured one (N photos, 12 deployments), "Garden moths" (N/5, 5) and
  "Tropical traps" (N/10, 4);
- deployments: from 1.5% to 29.5% of the measured project's photos (5 to 97 nights), in 10
  zones from UTC-6 to UTC+10; runs of nights with gaps of two to nine weeks; Rothamsted's
  first night is the one the clocks go back in (its photos' offsets +60 then 0);
- photos a night: 7 to 5,000 (median 154 over the 524 nights of the three projects; 180 of
  fewer than 100, 15 of more than 1,000, the swarm night of 5,000);
- boxes a photo (the measured project's current ``ami-moths`` results): none on 21% of
  photos, one on 21%, two on 18%, three to five on 24%, six to ten on 12%, 11 to 30 on 4%,
  31 to 100 on 0.1% and 201 to 296 on the 60 photos of the crowded night; a mean of 3.2 (4.9
  at 10,000 photos, where the crowded night weighs more; 3.6 at 1,000,000, with more crowded
  nights of 30 to 300);
- 2,048-number feature vectors (8 KiB) on every moth's species classification: 853,373 of
  them (7.0 GB) at 100,000 photos, 130,493 (1.1 GB) at 10,000; past ``FEATURE_BUDGET`` (the
  1,000,000-photo set, whose every vector would take some 80 GB) on every tenth insect's
  boxes only (``feature_every``), about 8 GB.

Loading on SQLite, generator version 3, the machine quiet (2026-11-27, machine speed 115-120
ms): 10,000 photos in 63 s (CPU 72 s), a 1.3 GB file; 100,000 photos in 374 s (CPU 450 s:
the five pipeline runs 216 s, tracking 124 s, the identifications 23 s, each some 20 ms through
the product's service), an 8.5 GB file of which the vectors are 6.1 GB. 1,000,000 photos took
7,616 s (6,260 s CPU) with a test suite beside it for 95 minutes, a 22 GB file; alone, about
ten times the 100,000's steps and a little more (its nights are more crowded): some 70-90
minutes. ``--from-sqlite`` copied the 100,000 set to PostgreSQL in 166 s, and the 1,000,000
set of generator version 2 (27.3 million rows) in 338 s.

Saved as ``$TRAPLINE_BENCH_DATA/sqlite-<N>.db`` (default folder ``~/.cache/trapline/bench-data``)
or as the PostgreSQL database ``trapline_bench_data_<N>``, with a manifest beside it
(``<backend>-<N>.json``) naming the measured project and its deployments, what each project
holds, the busiest night (its deployment, evening and event), the biggest deployment, a common
and a rare species label among the current results, and what loading took. A saved set is
reused while its generator version is this one's; its schema is brought to the newest
migration when it is opened. ``--from-sqlite`` makes the PostgreSQL set of a size by copying
the saved SQLite one (``dataset_copy.py``). Run ``python benchmarks/dataset.py --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from common import (
    POSTGRES_ADMIN_URL,
    _create_postgres_database,
    _drop_postgres_database,
    _sqlalchemy_url,
    machine_speed_ms,
)
from dataset_copy import copy_tables
from dataset_facts import biggest_deployment, busiest_night, labels, project_counts, taxa_count
from dataset_layout import PROJECTS, layout
from dataset_load import Loader
from dataset_pipelines import vectors_expected
from dataset_scene import FEATURES

from trapline.db.engine import Database
from trapline.db.migrate import upgrade
from trapline.db.repositories import Repos
from trapline.domain.ecology.species import Scope
from trapline.platform import Platform
from trapline.settings import Settings

#: Raised whenever the generator makes different data: saved sets of another version are made
#: again.
GENERATOR_VERSION = 3
#: Where saved SQLite sets and every manifest live.
DATA_DIR = Path(
    os.environ.get("TRAPLINE_BENCH_DATA", Path.home() / ".cache" / "trapline" / "bench-data")
)
#: The people of the project and their password (sign-in through the form).
OWNER = "bench@example.org"
IDENTIFIER = "identifier@example.org"
PASSWORD = "benchmark password"
SEED = 2024
#: Bytes the set's feature vectors may take before only every tenth insect's boxes carry one.
FEATURE_BUDGET = 20 * 1024**3


@dataclass(frozen=True)
class Dataset:
    """A saved data set: where it is and what it holds."""

    backend: str
    #: Photos of the measured project (the other two hold a fifth and a tenth as many).
    images: int
    url: str
    #: The measured project and its deployments (in the order of ``dataset_layout.PROJECTS``).
    project_id: int
    deployment_ids: list[int]
    version: int = GENERATOR_VERSION
    #: What the measured project holds (and the server's taxa).
    counts: dict[str, int] = field(default_factory=dict)
    #: What each project holds, by name (with its id).
    project_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    #: The measured project's night of the most photos: deployment_id, night (the evening's
    #: date), event_id, images.
    busiest_night: dict[str, Any] = field(default_factory=dict)
    biggest_deployment_id: int = 0
    #: A common and a rare species label among the measured project's current results.
    common_label: str = ""
    rare_label: str = ""
    #: Every ``feature_every``-th insect's boxes carry a feature vector (1: every moth's box).
    feature_every: int = 1
    seconds: dict[str, float] = field(default_factory=dict)
    #: CPU time of each step (the loading process and the ones it started).
    cpu_seconds: dict[str, float] = field(default_factory=dict)
    made_at: str = ""
    machine_speed_ms: float = 0.0

    @property
    def manifest(self) -> Path:
        return manifest_path(self.backend, self.images)


def counted_by(repos: Repos, project_id: int) -> str | None:
    """The pipeline the project's deployments count by (the first deployment's, when they
    count by different ones)."""
    scope = repos.ecology.choices.counted(Scope(project_id))
    return scope.pipeline or (scope.chosen[0][1] if scope.chosen else None)


def manifest_path(backend: str, images: int) -> Path:
    return DATA_DIR / f"{backend}-{images}.json"


def _location(backend: str, images: int) -> tuple[str, str | None]:
    """The set's SQLAlchemy URL, and its PostgreSQL database name (None for SQLite)."""
    if backend == "sqlite":
        return f"sqlite:///{DATA_DIR / f'sqlite-{images}.db'}", None
    name = f"trapline_bench_data_{images}"
    return _sqlalchemy_url(POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{name}"), name


def settings_for(url: str, data_dir: Path) -> Settings:
    """Settings of a platform over a saved set: no background duties (nothing changes it)."""
    return Settings(
        data_dir=data_dir,
        database_url=url,
        secret_key="benchmark-secret-key",
        duties_enabled=False,
        _env_file=None,
    )


@contextmanager
def opened(dataset: Dataset) -> Iterator[Platform]:
    """A platform over a saved set, its schema brought to the newest migration."""
    folder = DATA_DIR / "files"
    platform = Platform.from_settings(settings_for(dataset.url, folder))
    try:
        upgrade(platform.db.engine)
        yield platform
    finally:
        platform.close()


def saved(backend: str, images: int) -> Dataset | None:
    """The saved set of this size, if there is one of this generator version."""
    path = manifest_path(backend, images)
    if not path.is_file():
        return None
    found = Dataset(**json.loads(path.read_text()))
    if found.version != GENERATOR_VERSION:
        return None
    if backend == "sqlite" and not Path(found.url.removeprefix("sqlite:///")).is_file():
        return None
    return found


def ensure(backend: str, images: int, *, fresh: bool = False) -> Dataset:
    """The saved set of this size, made first when there is none (or ``fresh``)."""
    found = None if fresh else saved(backend, images)
    return found if found is not None else generate(backend, images)


def generate(backend: str, images: int, seed: int = SEED) -> Dataset:
    """Make the set of ``images`` photos on ``backend`` (replacing a saved one) and save it."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = manifest_path(backend, images)
    path.unlink(missing_ok=True)
    url, name = _location(backend, images)
    if name is None:
        for suffix in ("", "-wal", "-shm"):
            Path(url.removeprefix("sqlite:///") + suffix).unlink(missing_ok=True)
    else:
        _drop_postgres_database(name)
        _create_postgres_database(name)
    speed = machine_speed_ms()
    every = feature_every(images, seed)
    platform = Platform.from_settings(settings_for(url, DATA_DIR / "files"))
    try:
        upgrade(platform.db.engine)
        loader = Loader(
            platform, seed, images, owner=OWNER, identifier=IDENTIFIER, password=PASSWORD,
            feature_every=every,
        )  # fmt: skip
        loader.load()
        facts = _facts(platform.db, loader.project_ids)
    finally:
        platform.close()
    dataset = Dataset(
        backend=backend,
        images=images,
        url=url,
        project_id=loader.project_id,
        deployment_ids=loader.deployment_ids,
        seconds={k: round(v, 1) for k, v in loader.seconds.items()},
        cpu_seconds={k: round(v, 1) for k, v in loader.cpu_seconds.items()},
        made_at=time.strftime("%Y-%m-%d %H:%M"),
        machine_speed_ms=round(speed, 1),
        feature_every=every,
        **facts,
    )
    path.write_text(json.dumps(asdict(dataset), indent=2))
    return dataset


def remove_all() -> list[str]:
    """Remove every saved set: the SQLite files, the photos' folder, the manifests and the
    PostgreSQL databases of every size (22 GB for 1,000,000 photos on SQLite, and each copy
    more in PostgreSQL); what was removed, with its size."""
    import psycopg

    removed = []
    if DATA_DIR.is_dir():
        size = sum(p.stat().st_size for p in DATA_DIR.rglob("*") if p.is_file())
        shutil.rmtree(DATA_DIR)
        removed.append(f"{DATA_DIR}: {size / 1e9:.1f} GB")
    with psycopg.connect(POSTGRES_ADMIN_URL, autocommit=True) as conn:
        names = conn.execute(
            "SELECT datname, pg_database_size(datname) FROM pg_database "
            "WHERE datname LIKE 'trapline\\_bench\\_%'"
        ).fetchall()
    for name, size in names:
        _drop_postgres_database(name)
        removed.append(f"PostgreSQL database {name}: {size / 1e9:.1f} GB")
    return removed


def feature_every(images: int, seed: int = SEED) -> int:
    """1 when a vector for every moth's box fits ``FEATURE_BUDGET``, else 10; says which."""
    vectors = vectors_expected(layout(seed, images))
    size = vectors * FEATURES * 4
    every = 1 if size <= FEATURE_BUDGET else 10
    print(
        f"feature vectors: about {vectors:,.0f} of {FEATURES * 4 // 1024} KiB, {size / 1e9:.1f} GB;"
        f" {'every moth box carries one' if every == 1 else 'every tenth insect carries one'}"
        f" ({size / every / 1e9:.1f} GB)",
        file=sys.stderr,
        flush=True,
    )
    return every


def _facts(db: Database, project_ids: list[int]) -> dict[str, Any]:
    """The manifest's facts of the loaded set."""
    main = project_ids[0]
    per_project = {
        plan.name: {"id": p} | project_counts(db, p)
        for plan, p in zip(PROJECTS, project_ids, strict=True)
    }
    common, rare = labels(db, main)
    counts = {k: v for k, v in per_project[PROJECTS[0].name].items() if k != "id"}
    return {
        "counts": counts | {"taxa": taxa_count(db)},
        "project_counts": per_project,
        "busiest_night": busiest_night(db, main),
        "biggest_deployment_id": biggest_deployment(db, main),
        "common_label": common,
        "rare_label": rare,
    }


def copied(images: int) -> Dataset:
    """The saved SQLite set of this size copied into PostgreSQL (``dataset_copy.py``) and
    saved as the PostgreSQL set: one load through the product serves both databases."""
    source = saved("sqlite", images)
    if source is None:
        raise SystemExit(f"no saved SQLite set of {images:,} photos: make it first")
    url, name = _location("postgres", images)
    assert name is not None
    manifest_path("postgres", images).unlink(missing_ok=True)
    _drop_postgres_database(name)
    _create_postgres_database(name)
    with opened(source):  # both schemas at the newest migration
        pass
    with opened(replace(source, backend="postgres", url=url)):
        pass
    started, cpu = time.perf_counter(), time.process_time()
    rows = copy_tables(
        source.url.removeprefix("sqlite:///"),
        url.replace("postgresql+psycopg://", "postgresql://", 1),
        lambda line: print(line, file=sys.stderr),
    )
    dataset = replace(
        source,
        backend="postgres",
        url=url,
        seconds={f"copied from SQLite ({rows:,} rows)": round(time.perf_counter() - started, 1)},
        cpu_seconds={"copy": round(time.process_time() - cpu, 1)},
        made_at=time.strftime("%Y-%m-%d %H:%M"),
        machine_speed_ms=round(machine_speed_ms(), 1),
    )
    dataset.manifest.write_text(json.dumps(asdict(dataset), indent=2))
    return dataset


def describe(dataset: Dataset) -> str:
    counts = ", ".join(f"{v:,} {k}" for k, v in dataset.counts.items())
    took = ", ".join(f"{k} {v:.0f} s" for k, v in dataset.seconds.items())
    total = sum(dataset.seconds.values())
    cpu = f", CPU {sum(dataset.cpu_seconds.values()):.0f} s" if dataset.cpu_seconds else ""
    others = "; ".join(
        f"{name} ({c.get('id')}): {c.get('images', 0):,} photos, {c.get('annotations', 0):,}"
        " annotations"
        for name, c in list(dataset.project_counts.items())[1:]
    )
    night = dataset.busiest_night
    return (
        f"{dataset.backend}, {dataset.images:,} photos: {counts}\n"
        f"  other projects: {others or 'none'}\n"
        f"  busiest night {night.get('night')} of deployment {night.get('deployment_id')}"
        f" (event {night.get('event_id')}, {night.get('images', 0):,} photos); biggest deployment"
        f" {dataset.biggest_deployment_id}; labels {dataset.common_label!r} (common),"
        f" {dataset.rare_label!r} (rare)\n"
        f"  loaded {dataset.made_at} in {total:.0f} s{cpu} ({took}); machine speed "
        f"{dataset.machine_speed_ms:.0f} ms"
    )


def photo_count(text: str) -> int:
    """A count of photos as given on the command line: 100000, 100_000, 100k, 1m."""
    text = text.strip().lower().replace(",", "").replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text.rstrip("km")) * scale)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=photo_count, default=100_000, help="10k, 100k, 1m…")
    parser.add_argument("--backend", choices=["sqlite", "postgres", "both"], default="sqlite")
    parser.add_argument("--fresh", action="store_true", help="make it again even if saved")
    parser.add_argument(
        "--from-sqlite",
        action="store_true",
        help="make the PostgreSQL set by copying the saved SQLite set of this size",
    )
    parser.add_argument(
        "--remove",
        action="store_true",
        help="remove every saved set of every size, on both databases, and exit",
    )
    args = parser.parse_args(argv)
    if args.remove:
        print("\n".join(remove_all()) or "no saved sets")
        return
    if args.from_sqlite:
        print(describe(copied(args.images)))
        return
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    for backend in backends:
        started = time.perf_counter()
        dataset = ensure(backend, args.images, fresh=args.fresh)
        print(describe(dataset))
        print(f"  ready in {time.perf_counter() - started:.0f} s: {dataset.url}", file=sys.stderr)


if __name__ == "__main__":
    main()
