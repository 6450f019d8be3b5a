"""Succession pairs each earlier box with the new box on its photo that overlaps it most, one
to one, best overlaps first: the same pairs as comparing every box with every other, with
memory bounded however many boxes a photo holds."""

from __future__ import annotations

import os
import random

import pytest

from tests.support.peak_memory import peak_rise
from trapline.domain.ecology.succession import (
    SUCCESSION_IOU,
    Placed,
    Reviewed,
    carried_reviews,
    inherited_ids,
    successors,
)


def _iou(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    if width <= 0 or height <= 0:
        return 0.0
    inter = width * height
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def _every_pair(old: list[Placed], new: list[Placed]) -> dict[int, int]:
    """The pairing worked out by comparing every earlier box with every new one."""
    pairs = [
        (_iou(a.box, b.box), r, c)
        for r, a in enumerate(old)
        for c, b in enumerate(new)
        if a.image_id == b.image_id and a.pipeline == b.pipeline
    ]
    found: dict[int, int] = {}
    taken: set[int] = set()
    for iou, r, c in sorted(pairs, key=lambda p: (-p[0], p[1], p[2])):
        if iou >= SUCCESSION_IOU and old[r].id not in found and c not in taken:
            found[old[r].id] = new[c].id
            taken.add(c)
    return found


def _scene(rng: random.Random, boxes: int, jitter: float) -> tuple[list[Placed], list[Placed]]:
    """Insects on two photos of two pipelines, boxed again ``jitter`` px off, some gone, some
    new, in no particular order."""
    old, new = [], []
    for n in range(boxes):
        photo, pipeline = rng.choice([1, 2]), rng.choice(["a", "b"])
        size = rng.uniform(10, 120)
        x, y = rng.uniform(0, 800), rng.uniform(0, 600)
        old.append(Placed(n, photo, pipeline, (x, y, x + size, y + size * rng.uniform(0.6, 1.4))))
        if rng.random() < 0.85:
            moved = tuple(v + rng.uniform(-jitter, jitter) for v in old[-1].box)
            new.append(Placed(100_000 + n, photo, pipeline, moved))  # type: ignore[arg-type]
    for n in range(boxes // 5):
        x, y = rng.uniform(0, 800), rng.uniform(0, 600)
        new.append(Placed(200_000 + n, rng.choice([1, 2]), "a", (x, y, x + 40, y + 40)))
    rng.shuffle(old)
    rng.shuffle(new)
    return old, new


@pytest.mark.parametrize(("seed", "boxes", "jitter"), [
    (seed, boxes, jitter) for seed in range(3) for boxes, jitter in
    [(5, 2.0), (60, 4.0), (300, 8.0), (700, 15.0)]
])  # fmt: skip
def test_the_pairs_are_those_of_comparing_every_box(seed: int, boxes: int, jitter: float) -> None:
    old, new = _scene(random.Random(seed * 7 + boxes), boxes, jitter)
    assert successors(old, new) == _every_pair(old, new)


def test_an_occurrence_id_goes_to_the_new_occurrence_holding_most_of_its_detections() -> None:
    rng = random.Random(5)
    stored = {100 + o: [o * 10 + k for k in range(rng.randint(1, 6))] for o in range(300)}
    succession = {d: d + 5000 for members in stored.values() for d in members if d % 3}
    detections = [succession.get(d, d) for members in stored.values() for d in members]
    rng.shuffle(detections)
    made = [frozenset(detections[i : i + 4]) for i in range(0, len(detections), 4)]
    expected: dict[int, int] = {}
    shares = sorted(
        (
            (-len({succession.get(m, m) for m in members} & detections_), occurrence, position)
            for occurrence, members in stored.items()
            for position, detections_ in enumerate(made)
            if {succession.get(m, m) for m in members} & detections_
        ),
    )
    used: set[int] = set()
    for _, occurrence, position in shares:
        if position not in expected and occurrence not in used:
            expected[position] = occurrence
            used.add(occurrence)
    assert inherited_ids(made, stored, succession) == expected


def test_20000_boxes_stacked_on_one_another_take_bounded_memory() -> None:
    """The worst photo for pairing: every box on every other (each pair overlapping fully)."""
    box = (100.0, 100.0, 140.0, 130.0)
    old = [Placed(n, 1, "a", box) for n in range(1_000)]
    new = [Placed(10_000 + n, 1, "a", box) for n in range(20_000)]
    with peak_rise(os.getpid()) as rise:
        found = successors(old, new)
    assert rise[0] <= 100, f"pairing rose {rise[0]:.0f} MB"
    assert len(set(found.values())) == len(found) > 0  # one to one


def test_reviews_are_handed_on_run_by_run_and_the_latest_counts() -> None:
    box, moved, far = (10.0, 10.0, 50.0, 50.0), (12.0, 10.0, 52.0, 50.0), (200.0, 0.0, 240.0, 40.0)
    first = [Reviewed(Placed(1, 7, "moths", box), run=100, review_id=5)]
    # The next run's box of the same animal was reviewed again; a box of its speck was not.
    second = [Reviewed(Placed(2, 7, "moths", moved), run=101, review_id=9)]
    today = [Placed(3, 7, "moths", box), Placed(4, 7, "moths", far), Placed(5, 8, "moths", box)]
    # Each run finds today's box on its own, although both reach the same one: the later wins.
    assert carried_reviews(first + second, today) == {3: 9}
    assert carried_reviews(first, today) == {3: 5}
    # Another pipeline's box, or one that overlaps less than half, takes nothing.
    assert carried_reviews(first, [Placed(3, 7, "birds", box)]) == {}
    assert carried_reviews(first, [Placed(3, 7, "moths", (40.0, 40.0, 80.0, 80.0))]) == {}
