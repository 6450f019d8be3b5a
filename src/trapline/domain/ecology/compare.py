"""Comparing two pipelines, or two versions of one, on the photos both ran on: which boxes
only one of them drew, which they both drew (the box on the same photo overlapping most, at an
intersection over union of at least 0.5, each box taken once: the re-run rule of
``succession.py``), and of those which moved or are named otherwise."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from trapline.domain.ecology.succession import Placed, iou, successors

#: A pair overlapping less than this moved: the two drew the same animal in other places.
MOVED_IOU = 0.75
#: Examples kept of each kind, at most.
MAX_EXAMPLES = 24


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a pipeline's current results, or one version's."""

    project_id: int
    pipeline: str
    #: None: the pipeline's current results (each photo's newest version, or the pinned).
    version: int | None = None

    @property
    def name(self) -> str:
        return self.pipeline if self.version is None else f"{self.pipeline} v{self.version}"


@dataclass(frozen=True)
class Boxed:
    """A box of one side, named as counting names it."""

    id: int
    image_id: int
    box: tuple[float, float, float, float]
    label: str | None
    score: float | None


@dataclass
class Comparison:
    """What two sides drew on the photos both ran on."""

    photos: int = 0
    only_a: int = 0
    only_b: int = 0
    same: int = 0
    moved: int = 0
    relabelled: int = 0
    #: Up to ``MAX_EXAMPLES`` of each kind: (box of A or None, box of B or None).
    examples: dict[str, list[tuple[Boxed | None, Boxed | None]]] = field(default_factory=dict)
    #: Boxes by label on each side, on those photos.
    labels_a: Counter[str] = field(default_factory=Counter)
    labels_b: Counter[str] = field(default_factory=Counter)

    def add(self, kind: str, a: Boxed | None, b: Boxed | None) -> None:
        setattr(self, kind, getattr(self, kind) + 1)
        kept = self.examples.setdefault(kind, [])
        if len(kept) < MAX_EXAMPLES:
            kept.append((a, b))


def compare(a: Sequence[Boxed], b: Sequence[Boxed], found: Comparison | None = None) -> Comparison:
    """Compare two sides' boxes on the same photos (adding to ``found`` when given: a
    comparison made photo batch by photo batch)."""
    found = found or Comparison()
    placed = [Placed(x.id, x.image_id, "", x.box) for x in a]
    pairs = successors(placed, [Placed(x.id, x.image_id, "", x.box) for x in b])
    of_b = {x.id: x for x in b}
    paired = set(pairs.values())
    for x in a:
        found.labels_a[x.label or "(no label)"] += 1
        twin = of_b.get(pairs.get(x.id, -1))
        if twin is None:
            found.add("only_a", x, None)
        elif (x.label or "") != (twin.label or ""):
            found.add("relabelled", x, twin)
        elif iou(x.box, twin.box) < MOVED_IOU:
            found.add("moved", x, twin)
        else:
            found.add("same", x, twin)
    for y in b:
        found.labels_b[y.label or "(no label)"] += 1
        if y.id not in paired:
            found.add("only_b", None, y)
    return found
