"""Refit memory and time: how far a process's peak RSS rises, and how long it takes, to refit a
classifier head on 100,000 identified detections x 2,048 numbers (issue 61's budget: 1 GB and
a few minutes).

The vectors are made block by block, as the database hands them over (500 at a time), and read
twice as a refit reads them (decision 075): once for their main directions, once for their
coordinates along them; then the head is cross-validated by event and fitted
(``trapline.evaluation``'s own code, the same calls ``services/review/classifiers.py`` makes).
The scene has structure as a backbone's vectors do: a taxon's individuals spread around its
centre in a space of ``--structure`` directions, spread over ``--length`` numbers; each night
shifts its individuals alike; an individual's frames are near-copies. The peak (``VmHWM``) is
reset after the imports and the scene's fixed parts are made. Run
``python benchmarks/refit_memory.py --help``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from common import print_table

from trapline.evaluation.heads import Floats, Ids
from trapline.evaluation.reduction import COMPONENTS, fit_projection, projected
from trapline.evaluation.refit import Examples, fit

#: Target (issue 61): the fit's rise in peak RSS, in MB.
TARGET_MB = 1_000.0
BLOCK = 500
FRAMES = 5
PER_NIGHT = 20


def _kb(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise SystemExit(f"no {field} in /proc/self/status")


class Scene:
    """Identified detections made on demand, the same each time they are read."""

    def __init__(self, rows: int, length: int, structure: int, taxa: int, seed: int) -> None:
        rng = np.random.default_rng(seed)
        self.rows, self.length, self.seed = rows, length, seed
        self.centres = rng.normal(0, 0.35, (taxa, structure))
        self.embedding = np.linalg.qr(rng.normal(0, 1, (length, structure)))[0].T
        individuals = np.arange(rows) // FRAMES
        self.individuals: Ids = individuals.astype(np.int64)
        self.events: Ids = (individuals // PER_NIGHT).astype(np.int64)
        self.taxa: Ids = rng.integers(taxa, size=individuals.max() + 1)[individuals].astype(
            np.int64
        )
        self.nights = rng.normal(0, 0.3, (int(self.events.max()) + 1, structure))

    def blocks(self) -> Iterator[tuple[Ids, Floats]]:
        """The vectors ``BLOCK`` rows at a time (a block holds whole individuals)."""
        structure = self.embedding.shape[0]
        for start in range(0, self.rows, BLOCK):
            rows = np.arange(start, min(start + BLOCK, self.rows), dtype=np.int64)
            rng = np.random.default_rng((self.seed, start))
            first = self.individuals[rows[0]]
            count = self.individuals[rows[-1]] - first + 1
            places = rng.normal(0, 1.0, (count, structure))
            latent = (
                self.centres[self.taxa[rows]]
                + places[self.individuals[rows] - first]
                + self.nights[self.events[rows]]
                + rng.normal(0, 0.05, (len(rows), structure))
            )
            noise = rng.normal(0, 0.1, (len(rows), self.length))
            yield rows, (latent @ self.embedding + noise + 3.0).astype(np.float32)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000, help="identified detections")
    parser.add_argument("--length", type=int, default=2_048, help="numbers a vector")
    parser.add_argument("--structure", type=int, default=128, help="directions the taxa differ in")
    parser.add_argument("--taxa", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    scene = Scene(args.rows, args.length, args.structure, args.taxa, args.seed)
    Path("/proc/self/clear_refs").write_text("5")
    before = _kb("VmRSS")

    started = time.perf_counter()
    projection = fit_projection((block for _, block in scene.blocks()), args.length)
    directions = time.perf_counter()
    matrix = projected(scene.blocks(), args.rows, projection)
    read = time.perf_counter()
    said: list[str] = []
    refit = fit(
        Examples(matrix, scene.taxa, scene.events, scene.individuals),
        progress=lambda stage, _: said.append(f"{stage} at {time.perf_counter() - read:.0f} s"),
    )
    head = projection.lift(refit.head)
    done = time.perf_counter()
    rise = (_kb("VmHWM") - before) / 1000

    print_table(
        f"Refit of {args.rows:,} detections x {args.length:,} numbers, {args.taxa} taxa "
        f"({COMPONENTS} directions kept)",
        ["step", "seconds"],
        [
            ["main directions (first read)", round(directions - started, 1)],
            ["coordinates (second read)", round(read - directions, 1)],
            [f"cross-validation ({refit.folds} folds) and the fit", round(done - read, 1)],
            ["in all", round(done - started, 1)],
        ],
    )
    print_table(
        "Figures",
        ["figure", "value"],
        [
            ["peak RSS rise (MB)", round(rise)],
            ["target (MB)", TARGET_MB],
            ["cross-validated accuracy", round(refit.accuracy, 3)],
            ["solver converged", str(refit.converged)],
            ["stored head (MB)", round(len(head.to_bytes()) / 1e6, 1)],
        ],
    )
    print("\n".join(said), file=sys.stderr)
    if rise > TARGET_MB:
        sys.exit(f"the refit's peak rose by {rise:.0f} MB, over the {TARGET_MB:.0f} MB target")


if __name__ == "__main__":
    main()
