"""Identified detections of a known structure for refit tests: several taxa, individuals of a
taxon spread around its centre, each individual's frames near-copies, each night's light
shared by its individuals."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from trapline.evaluation.refit import Examples

#: Taxa of a scene (ids 100 upwards).
TAXA = 4


def nights_of(
    rng: np.random.Generator,
    centres: NDArray[np.float64],
    events: range,
    first_individual: int,
    per_event: int = 4,
    frames: int = 5,
) -> Examples:
    """Individuals photographed in ``events``: each event has its own light (a shift all its
    individuals share), each individual its own place around its taxon's centre (taxon 0's
    spread wide), and its frames are near-copies of each other."""
    rows, taxa, nights, individuals = [], [], [], []
    individual = first_individual
    for event in events:
        light = rng.normal(0, 0.3, centres.shape[1])
        for _ in range(per_event):
            taxon = int(rng.integers(TAXA))
            place = centres[taxon] + rng.normal(0, 1.6 if taxon == 0 else 1.0, centres.shape[1])
            for _ in range(frames):
                rows.append(place + light + rng.normal(0, 0.05, centres.shape[1]))
                taxa.append(taxon + 100)
                nights.append(event)
                individuals.append(individual)
            individual += 1
    return Examples(
        np.asarray(rows, dtype=np.float32),
        np.asarray(taxa, dtype=np.int64),
        np.asarray(nights, dtype=np.int64),
        np.asarray(individuals, dtype=np.int64),
    )
