"""How well a refit on trapline's crop descriptors (decision 074) tells taxa apart, measured
by the refit's own cross-validation grouped by night, against the colour histogram alone
(what tracking compares). (Against a model's features it cannot be measured here: the
synthetic moths carry only what is drawn, and no model's weights ship with trapline.)

The scene: made-up light-trap photos (``imaging/synthetic.tinted_light_trap_jpeg``), NIGHTS
nights of FRAMES photos each; on each night, INDIVIDUALS moths of every taxon, each seen on
every frame of its night (its wings a little lighter or darker from frame to frame, drawn
elsewhere on the sheet at another size and angle: near-copies as a camera sees them). The
taxa's wing colours are drawn from the palette of the synthetic moths (rust browns and greys),
``spread`` apart: how different the taxa look. Run with and without sizes per taxon
(moths of one species are of about one size; the synthetic moths otherwise are of any).

    PYTHONPATH=src python benchmarks/crop_refits.py
"""

from __future__ import annotations

import io
import random
import sys

import numpy as np

from trapline.evaluation.refit import Examples, fit
from trapline.imaging.descriptors import LEVELS, crop_descriptors
from trapline.imaging.synthetic import tinted_light_trap_jpeg

NIGHTS = 8
FRAMES = 2
INDIVIDUALS = 2
TAXA = 6


def palette(taxa: int, spread: float, rng: random.Random) -> list[tuple[int, int, int]]:
    """Wing colours of ``taxa`` taxa, alternately brown and grey: taxon n at grey level 70 +
    n x ``spread``."""
    tones = []
    for n in range(taxa):
        level = 70 + n * spread
        if n % 2:
            tones.append((round(level), round(level), round(level * 0.95)))
        else:
            tones.append((round(level), round(level * 0.78), round(level * 0.52)))
    rng.shuffle(tones)
    return tones


def scene(spread: float, seed: int, *, sized: bool) -> tuple[Examples, Examples]:
    """The scene's examples: crop descriptors, and the colour histograms alone; with
    ``sized``, each taxon's moths are of its own size (else of any size)."""
    rng = random.Random(seed)
    tones = palette(TAXA, spread, rng)
    lengths = [rng.uniform(0.02, 0.07) for _ in tones]
    crops, taxa, events, individuals = [], [], [], []
    for night in range(NIGHTS):
        for frame in range(FRAMES):
            drawn, who, sizes = [], [], []
            for taxon, (red, green, blue) in enumerate(tones):
                for one in range(INDIVIDUALS):
                    shade = 1 + rng.uniform(-0.06, 0.06)
                    drawn.append(
                        (min(255, round(red * shade)), min(255, round(green * shade)),
                         min(255, round(blue * shade)))
                    )  # fmt: skip
                    who.append((taxon, night * 100 + taxon * 10 + one))
                    sizes.append(
                        lengths[taxon] * rng.uniform(0.9, 1.1) if sized else rng.uniform(0.02, 0.07)
                    )
            jpeg, moths = tinted_light_trap_jpeg(
                seed * 1000 + night * 10 + frame, drawn, sizes=sizes, width=1600, height=1200
            )
            crops += crop_descriptors(io.BytesIO(jpeg), [m.box for m in moths])
            taxa += [t for t, _ in who]
            individuals += [i for _, i in who]
            events += [night] * len(who)
    matrix = np.asarray(crops, dtype=np.float32)
    y, g, i = (np.asarray(v, dtype=np.int64) for v in (taxa, events, individuals))
    hist = np.ascontiguousarray(matrix[:, : LEVELS**3])
    return Examples(matrix, y, g, i), Examples(hist, y, g, i)


def main(seeds: int = 3) -> None:
    print(f"{TAXA} taxa, {NIGHTS} nights x {FRAMES} frames, {INDIVIDUALS} moths a taxon a night")
    print("sizes       spread  crop descriptor   colour histogram")
    for sized, spread in ((False, 8.0), (False, 16.0), (False, 32.0), (True, 8.0), (True, 16.0)):
        found: dict[str, list[float]] = {"crop": [], "hist": []}
        for seed in range(1, seeds + 1):
            crop, hist = scene(spread, seed, sized=sized)
            found["crop"].append(fit(crop).accuracy)
            found["hist"].append(fit(hist).accuracy)
        shown = "  ".join(f"{np.mean(v):.2f} ({min(v):.2f}-{max(v):.2f})" for v in found.values())
        print(f"{'per taxon' if sized else 'any':10}  {spread:6.0f}  {shown}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
