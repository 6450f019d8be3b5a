"""Grouping memory and time: how far a process's peak RSS rises, and how long it takes, to
group unidentified individuals (``trapline.evaluation.groups``) by vectors of 2,048 numbers.

The individuals are synthetic with a known structure: ``--taxa`` taxa of uneven abundance,
each individual its taxon's centre plus noise, non-negative as a network's pooled features
are, scaled to length one. They are made a block at a time from a seed, as the grouping asks
for them (a run reads them from the database the same way, a block of individuals at a time),
so no matrix of every vector is ever held. The peak is the kernel's high-water mark
(``VmHWM``), reset before each size; the agreement with the taxa (adjusted Rand) says the
groups found are the taxa. Run ``python benchmarks/groups.py --help``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
from body_memory import current_kb, peak_kb, reset_peak
from common import print_table
from numpy.typing import NDArray
from sklearn.metrics import adjusted_rand_score

from trapline.evaluation.groups import GroupsFound, group, unit

_MB = 1_000_000
#: Targets (issue 61): grouping 100,000 individuals stays within 1 GB and a few minutes.
TARGET_MB = 1_000.0
TARGET_S = 300.0
LENGTH = 2_048


class Synthetic:
    """Individuals of ``taxa`` taxa (taxon ``t`` has a share proportional to ``1 / (t + 1)``),
    each made from its own seed whenever it is read."""

    def __init__(self, count: int, taxa: int, spread: float) -> None:
        rng = np.random.default_rng(0)
        self.centres = rng.gamma(1.0, 1.0, (taxa, LENGTH)).astype(np.float32)
        weights = 1 / np.arange(1, taxa + 1)
        self.taxa = rng.choice(taxa, count, p=weights / weights.sum()).astype(np.int64)
        self.spread = spread

    def read(self, rows: NDArray[np.int64]) -> NDArray[np.float32]:
        out = np.empty((len(rows), LENGTH), dtype=np.float32)
        for n, row in enumerate(rows.tolist()):
            noise = np.random.default_rng(row + 1).standard_normal(LENGTH, dtype=np.float32)
            out[n] = np.maximum(self.centres[self.taxa[row]] + self.spread * noise, 0)
        return unit(out)


def agreement(found: GroupsFound, taxa: NDArray[np.int64]) -> float:
    labels = np.zeros(len(taxa), dtype=np.int64)
    for g in found.groups:
        labels[g.members] = g.number
    return float(adjusted_rand_score(taxa, labels))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="10000,100000", help="individuals, comma-separated")
    parser.add_argument("--taxa", type=int, default=12)
    parser.add_argument("--spread", type=float, default=0.5, help="noise around a centre")
    args = parser.parse_args(argv)
    rows: list[list[object]] = []
    for count in (int(s) for s in args.sizes.split(",")):
        scene = Synthetic(count, args.taxa, args.spread)
        reset_peak(os.getpid())
        before = current_kb(os.getpid())
        started = time.perf_counter()
        found = group(scene.read, count)
        took = time.perf_counter() - started
        rise = (peak_kb(os.getpid()) - before) * 1024 / _MB
        rows.append([
            f"{count:,}", len(found.groups), f"{len(found.ungrouped):,}",
            f"{agreement(found, scene.taxa):.3f}", f"{rise:.0f}", f"{took:.1f}",
        ])  # fmt: skip
        print(f"  {count:,}: +{rise:.0f} MB, {took:.1f} s", file=sys.stderr)
    worst_mb = max(float(str(r[-2])) for r in rows)
    worst_s = max(float(str(r[-1])) for r in rows)
    verdict = "met" if worst_mb <= TARGET_MB and worst_s <= TARGET_S else "MISSED"
    print_table(
        f"grouping: {LENGTH:,} numbers a vector, {args.taxa} taxa "
        f"(target: <= {TARGET_MB:.0f} MB and {TARGET_S:.0f} s: {verdict})",
        ["individuals", "groups", "ungrouped", "adjusted Rand", "peak RSS rise MB", "seconds"],
        rows,
    )


if __name__ == "__main__":
    main()
