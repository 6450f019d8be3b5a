"""Grouping the individuals nobody identified by their feature vectors (decision 072).

Each individual is one vector: the mean of its detections' vectors, scaled to length one, so
that a long-seen moth and one seen in a single frame weigh alike. Grouping reads them as a
stream, a block at a time, twice, and holds no more than these at once:

1. the **main directions** of the vectors (``evaluation/reduction.py``: the first pass sums
   their products, 32 MB for 2,048 numbers), ``DIMENSIONS`` of them;
2. every individual **reduced** to those directions in the second pass (100,000
   individuals: 25 MB);
3. the **groups** found among a **sample** of at most ``SAMPLE`` individuals (drawn with a
   fixed seed): Ward's agglomerative tree cut at each number of
   groups from 2 to ``MOST_GROUPS``, the number whose silhouette is highest kept; then every
   individual assigned to the nearest group centre and the centres refined over all of them
   (spherical k-means, ``ROUNDS`` rounds).

Similarity is the cosine between reduced vectors, measured from the mean of the scope's
individuals: 1 means pointing the same way away from the average individual, 0 no more
alike than any two. A group's **tightness** is the mean similarity of its members to its
centre. A member less similar than ``MIN_SIMILARITY`` to its centre, and a group of one, are
left ungrouped. Groups come tightest first (then largest); the same vectors always give the
same groups.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from trapline.errors import MissingDependency
from trapline.evaluation.heads import Floats, Ids
from trapline.evaluation.reduction import fit_projection, projected

#: Individuals a grouping needs at least: similarity is measured from their mean, and two
#: are only ever opposite each other.
MIN_INDIVIDUALS = 3
#: The seed of the sample.
SEED = 0
#: Dimensions the vectors are reduced to, at most.
DIMENSIONS = 64
#: Individuals the groups are found among, at most (the rest are assigned to them).
SAMPLE = 3_000
#: The largest number of groups tried.
MOST_GROUPS = 40
#: A member less similar than this to its group's centre (nearer unrelated than alike) is
#: left ungrouped: naming it with the group would be a guess.
MIN_SIMILARITY = 0.3
#: Rounds of refining the centres over every individual.
ROUNDS = 5
#: Individuals reduced at a time (2,048 numbers each: 8 MB).
BLOCK = 1_000

#: Says how far a grouping has got: what it is doing, and the share done (0 to 1).
Progress = Callable[[str, float], None]
#: Reads the vectors of the individuals of the given indices (one row each, length one).
Reader = Callable[[Ids], Floats]


def _silent(stage: str, share: float) -> None:
    pass


@dataclass(frozen=True, eq=False)
class Group:
    """A group: its number (1 the tightest), its members (indices of the individuals, most
    alike the centre first) and each one's similarity to the centre."""

    number: int
    members: Ids
    similarity: Floats

    @property
    def size(self) -> int:
        """How many individuals it holds."""
        return len(self.members)

    @property
    def tightness(self) -> float:
        """The mean similarity of its members to its centre (1: all alike)."""
        return float(self.similarity.mean())


@dataclass(frozen=True, eq=False)
class GroupsFound:
    """The groups found, the individuals left ungrouped, the dimensions the vectors were
    reduced to, the sample the groups were found among, and the silhouette of each number of
    groups tried on it (the chosen one highest)."""

    groups: tuple[Group, ...]
    ungrouped: Ids
    dimensions: int
    sample: int
    tried: tuple[tuple[int, float], ...]

    @property
    def silhouette(self) -> float | None:
        """The silhouette of the number of groups chosen (None: too few to try any)."""
        return max((s for _, s in self.tried), default=None)


def unit_means(vectors: Floats, owners: Ids, count: int) -> Floats:
    """Per individual ``0 .. count - 1``, the mean of its rows of ``vectors`` (``owners``
    names each row's individual) scaled to length one; an individual without rows is zeros."""
    sums = np.zeros((count, vectors.shape[1]), dtype=np.float64)
    np.add.at(sums, owners, vectors)
    return unit(sums.astype(np.float32))


def unit(vectors: Floats) -> Floats:
    """Each row scaled to length one (a row of zeros stays zeros)."""
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    scaled: Floats = (vectors / np.maximum(norms, 1e-12)).astype(np.float32, copy=False)
    return scaled


def sample_of(count: int) -> Ids:
    """The individuals (indices) the groups are found among, in order."""
    if count <= SAMPLE:
        return np.arange(count, dtype=np.int64)
    chosen = np.random.default_rng(SEED).choice(count, SAMPLE, replace=False)
    return np.sort(chosen).astype(np.int64)


def group(read: Reader, count: int, *, progress: Progress = _silent) -> GroupsFound:
    """Group ``count`` individuals whose vectors ``read`` gives, a block at a time (read
    twice: once to fit the reduction, once to reduce)."""
    if count < MIN_INDIVIDUALS:
        raise ValueError(f"grouping needs {MIN_INDIVIDUALS} individuals or more")
    first = read(_block(0, count))
    length = first.shape[1]

    def blocks(stage: str, start: float) -> Iterator[tuple[Ids, Floats]]:
        for begin in range(0, count, BLOCK):
            rows = _block(begin, count)
            yield rows, first if begin == 0 else read(rows)
            progress(f"{stage}: {rows[-1] + 1:,} of {count:,}", start + 0.35 * (
                (rows[-1] + 1) / count))  # fmt: skip

    progress("reducing the vectors: finding their main directions", 0.0)
    projection = fit_projection(
        (b for _, b in blocks("finding the main directions", 0.0)), length, DIMENSIONS
    )
    reduced = projected(blocks("reducing the vectors", 0.35), count, projection)
    return cluster(reduced, sample_of(count), progress=progress)


def _block(begin: int, count: int) -> Ids:
    return np.arange(begin, min(count, begin + BLOCK), dtype=np.int64)


def cluster(reduced: Floats, sample: Ids, *, progress: Progress = _silent) -> GroupsFound:
    """Group reduced vectors (a row an individual): the number of groups chosen on the
    ``sample`` rows, every row then assigned and the centres refined."""
    points = unit(reduced)
    labels, tried = _sample_groups(points[sample], progress)
    centres = unit(_means(points[sample], labels, int(labels.max()) + 1))
    for round_ in range(ROUNDS):
        progress(f"assigning every individual: round {round_ + 1} of {ROUNDS}", 0.9)
        assigned = _nearest(points, centres)[0]
        moved = unit(_means(points, assigned, len(centres)))
        # A centre that lost every member keeps its place (it will hold none).
        kept = np.bincount(assigned, minlength=len(centres)) > 0
        centres = np.where(kept[:, None], moved, centres)
    assigned, similarity = _nearest(points, centres)
    found = []
    ungrouped: list[Ids] = []
    for label in range(len(centres)):
        mine = assigned == label
        ungrouped.append(np.flatnonzero(mine & (similarity < MIN_SIMILARITY)).astype(np.int64))
        members = np.flatnonzero(mine & (similarity >= MIN_SIMILARITY)).astype(np.int64)
        if len(members) < 2:
            ungrouped.append(members)
            continue
        order = np.argsort(-similarity[members], kind="stable")
        found.append((members[order], similarity[members][order]))
    found.sort(key=lambda g: (-float(g[1].mean()), -len(g[0]), int(g[0].min())))
    groups = tuple(Group(n, m, s) for n, (m, s) in enumerate(found, start=1))
    rest = np.sort(np.concatenate(ungrouped)) if ungrouped else np.empty(0, np.int64)
    return GroupsFound(groups, rest.astype(np.int64), reduced.shape[1], len(sample), tried)


def _sample_groups(points: Floats, progress: Progress) -> tuple[Ids, tuple[tuple[int, float], ...]]:
    """The sample's groups (a label each, from 0) and the silhouette of each number tried."""
    if len(points) < MIN_INDIVIDUALS:  # no number of groups can be judged: one group
        return np.zeros(len(points), dtype=np.int64), ()
    # SciPy comes with scikit-learn (and trapline's own dependencies).
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import pdist, squareform

    tree = linkage(points.astype(np.float64), method="ward")
    distances = squareform(pdist(points.astype(np.float64)))
    silhouette = _sklearn()["metrics"].silhouette_score
    most = min(MOST_GROUPS, len(points) - 1)
    best: tuple[float, Ids] | None = None
    tried: list[tuple[int, float]] = []
    for k in range(2, most + 1):
        progress(f"choosing the number of groups: {k} of at most {most}", 0.7 + 0.2 * k / most)
        labels = fcluster(tree, k, criterion="maxclust").astype(np.int64) - 1
        found = len(np.unique(labels))
        if found < 2 or any(n == found for n, _ in tried):
            continue
        score = float(silhouette(distances, labels, metric="precomputed"))
        tried.append((found, round(score, 4)))
        if best is None or score > best[0] + 1e-9:  # ties: the fewer groups
            best = (score, labels)
    if best is None:
        return np.zeros(len(points), dtype=np.int64), ()
    return best[1], tuple(tried)


def _means(points: Floats, labels: Ids, count: int) -> Floats:
    sums = np.zeros((count, points.shape[1]), dtype=np.float64)
    np.add.at(sums, labels, points)
    return sums.astype(np.float32)


def _nearest(points: Floats, centres: Floats) -> tuple[Ids, Floats]:
    """Each point's nearest centre (by cosine) and its similarity to it, a block at a time."""
    labels = np.empty(len(points), dtype=np.int64)
    similarity = np.empty(len(points), dtype=np.float32)
    for start in range(0, len(points), BLOCK * 10):
        block = points[start : start + BLOCK * 10] @ centres.T
        labels[start : start + len(block)] = block.argmax(axis=1)
        similarity[start : start + len(block)] = block.max(axis=1)
    return labels, similarity


def _sklearn() -> dict[str, ModuleType]:
    try:
        import sklearn.metrics
    except ImportError as exc:  # pragma: no cover - the server extra brings it
        raise MissingDependency(
            "grouping individuals needs scikit-learn: pip install 'trapline[server]'"
        ) from exc
    return {"metrics": sklearn.metrics}
