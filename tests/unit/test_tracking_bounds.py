"""Tracking with its pairs gated and its assignment made group by group links what it linked
before on ordinary scenes, and a photo of tens of thousands of boxes costs bounded memory."""

from __future__ import annotations

import os
import random
from itertools import pairwise
from typing import Any

import pytest

from tests.support.peak_memory import peak_rise
from tests.unit import tracking_reference as before
from trapline.domain.ecology.tracking import MAX_BOXES, Frame, Sighting, pair, track

#: Most MB tracking two photos of 20,000 boxes may add to the process's peak (issue 50).
MAX_TRACKING_RISE_MB = 200.0


def _scene(
    rng: random.Random, photos: int, insects: int, width: int = 4096, height: int = 2160
) -> list[Frame]:
    """Insects sitting a few photos each, moving a little, some flying in and out; looks by
    features (of two lengths), descriptors, or nothing, as pipelines post them."""
    alive: list[list[Any]] = []
    frames, next_id = [], 1
    for photo in range(photos):
        alive = [i for i in alive if rng.random() > 0.25]
        while len(alive) < insects:
            size = rng.uniform(20, 300)
            kind = rng.choice(["f16", "f8", "d", "none"])
            look = [rng.gauss(0, 1) for _ in range({"f16": 16, "f8": 8}.get(kind, 4))]
            alive.append(
                [rng.uniform(0, width - size), rng.uniform(0, height - size), size, kind, look]
            )
        sightings = []
        for insect in alive:
            x, y, size, kind, look = insect
            insect[0], insect[1] = x + rng.uniform(-15, 15), y + rng.uniform(-15, 15)
            seen = tuple(v + rng.gauss(0, 0.3) for v in look)
            features = seen if kind in ("f16", "f8") else None
            descriptor = tuple(abs(v) for v in seen) if kind == "d" else None
            box = (x, y, x + size * rng.uniform(0.9, 1.1), y + size * rng.uniform(0.9, 1.1))
            sightings.append(Sighting(next_id, *box, features, descriptor))
            next_id += 1
        rng.shuffle(sightings)
        frames.append(Frame(photo, width, height, tuple(sightings)))
    return frames


@pytest.mark.parametrize(
    ("seed", "insects", "threshold"),
    [(seed, insects, threshold) for seed in range(4) for insects, threshold in
     [(3, 1.5), (40, 1.5), (150, 1.5), (600, 1.5), (600, 1.2), (550, 2.2), (700, 0.8)]],
)  # fmt: skip
def test_links_are_those_made_before_on_random_scenes(
    seed: int, insects: int, threshold: float
) -> None:
    frames = _scene(random.Random(seed * 1000 + insects), 4, insects)
    for earlier, later in pairwise(frames):
        old = before.pair(earlier, later, threshold)
        new = pair(earlier, later, threshold)
        assert [(a, b) for a, b, _ in new] == [(a, b) for a, b, _ in old]
        assert [c for _, _, c in new] == pytest.approx([c for _, _, c in old], rel=1e-12)


def test_small_photos_are_costed_exactly_as_before() -> None:
    # Up to a few hundred boxes every pair is costed at once, in the same operations.
    for seed in range(20):
        earlier, later = _scene(random.Random(seed), 2, 1 + seed % 7)
        assert pair(earlier, later) == before.pair(earlier, later)


def test_chains_are_those_made_before() -> None:
    frames = _scene(random.Random(99), 12, 60)
    chains = track(frames)
    assert chains.left_out == {}
    assert {tuple(i for i, _ in c) for c in chains} == {
        tuple(i for i, _ in c) for c in _track_before(frames)
    }


def _track_before(frames: list[Frame]) -> list[list[tuple[int, float | None]]]:
    chain_of: dict[int, list[tuple[int, float | None]]] = {}
    chains: list[list[tuple[int, float | None]]] = []
    for index, frame in enumerate(frames):
        links = before.pair(frames[index - 1], frame) if index else []
        linked = {b: (a, c) for a, b, c in links}
        for s in frame.sightings:
            link = linked.get(s.id)
            chain = chain_of[link[0]] if link else []
            if not chain:
                chains.append(chain)
            chain.append((s.id, link[1] if link else None))
            chain_of[s.id] = chain
    return chains


def _crowd(image_id: int, count: int, rng: random.Random, *, lookalikes: bool) -> Frame:
    sightings = []
    for k in range(count):
        x, y = rng.uniform(0, 4000), rng.uniform(0, 2100)
        look = (1.0, 0.5, 0.25) if lookalikes else tuple(rng.gauss(0, 1) for _ in range(16))
        sightings.append(Sighting(image_id * 100_000 + k, x, y, x + 40, y + 40, features=look))
    return Frame(image_id, 4096, 2160, tuple(sightings))


@pytest.mark.parametrize("lookalikes", [False, True], ids=["varied", "lookalikes"])
def test_two_photos_of_20000_boxes_take_bounded_memory(lookalikes: bool) -> None:
    rng = random.Random(3)
    frames = [_crowd(n, 20_000, rng, lookalikes=lookalikes) for n in (1, 2)]

    with peak_rise(os.getpid()) as rise:
        chains = track(frames)

    assert rise[0] <= MAX_TRACKING_RISE_MB, f"tracking raised the peak RSS by {rise[0]:.0f} MB"
    left = 20_000 - MAX_BOXES
    assert chains.left_out == {1: left, 2: left}
    taking_part = {i for chain in chains for i, _ in chain}
    assert len(taking_part) == 2 * MAX_BOXES
    assert all(i % 100_000 < MAX_BOXES for i in taking_part)  # the first of each photo
