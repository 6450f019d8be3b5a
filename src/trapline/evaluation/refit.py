"""Refitting a classifier head on the feature vectors of what people identified, and measuring
it honestly (decision 069).

Each example is one identified detection: its feature vector (one model's), the taxon people
named its individual, the individual and the event (night or sequence) it was seen in. Frames
of one individual are near-copies, and the individuals of one night share its light; a split
that puts a detection in the test fold and its neighbours in the training folds measures
memory, not recognition. So the cross-validation is **grouped by event**: every detection of
an event, and so every frame of each individual in it, is on one side of each split. The
accuracy it reports is the one to expect on photos of a night the head never saw.

The matrix is one array of 4-byte floats, standardized in place; the folds are fitted on it
whole, the test rows weighted zero, so no fold copies it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from trapline.errors import InvalidInput, MissingDependency
from trapline.evaluation.heads import Floats, Head, Ids

#: A refit needs identified individuals of at least this many taxa...
MIN_TAXA = 2
#: ... and at least this many individuals of them in all.
MIN_INDIVIDUALS = 5
#: A taxon takes part when its individuals were seen in at least this many events (one to
#: learn from while another is held out); others are listed as having too few.
MIN_EVENTS_PER_TAXON = 2
#: Folds of the cross-validation (fewer when there are fewer events).
FOLDS = 5
#: The inverse strength of the regularization, on standardized features.
C = 1.0
#: Iterations of the solver (L-BFGS) at most.
MAX_ITER = 1_000
#: Rows standardized or predicted at a time (2,048 numbers a row: 16 MB in 8-byte floats).
BLOCK_ROWS = 1_000


@dataclass(frozen=True, eq=False)
class Examples:
    """Identified detections: a row of ``features`` each, and its taxon, event and individual."""

    features: Floats
    taxa: Ids
    events: Ids
    individuals: Ids

    def __post_init__(self) -> None:
        rows = self.features.shape[0]
        if self.features.ndim != 2 or self.features.dtype != np.float32:
            raise ValueError("features: a two-dimensional array of 4-byte floats")
        if not len(self.taxa) == len(self.events) == len(self.individuals) == rows:
            raise ValueError("taxa, events and individuals: one per row of features")


@dataclass(frozen=True)
class TaxonCount:
    """How many individuals of a taxon people identified, in how many events, on how many
    detections."""

    taxon_id: int
    individuals: int
    events: int
    detections: int


@dataclass(frozen=True)
class TaxonFigures:
    """A taxon's cross-validated figures, over detections: how many people named it
    (``support``), how many the head named it, and rightly."""

    taxon_id: int
    individuals: int
    support: int
    predicted: int
    correct: int

    @property
    def precision(self) -> float | None:
        """Of the detections the head named this taxon, the share people named so."""
        return self.correct / self.predicted if self.predicted else None

    @property
    def recall(self) -> float | None:
        """Of the detections people named this taxon, the share the head named so."""
        return self.correct / self.support if self.support else None


@dataclass(frozen=True)
class Refit:
    """A fitted head and how it did, cross-validated by event."""

    head: Head
    #: Detections whose held-out prediction was right, of all.
    accuracy: float
    folds: int
    detections: int
    individuals: int
    taxa: tuple[TaxonFigures, ...]
    #: Taxa left out: too few individuals, or all in one event.
    too_few: tuple[TaxonCount, ...]
    #: Whether the solver converged within ``MAX_ITER`` on the final fit.
    converged: bool


def census(taxa: Ids, events: Ids, individuals: Ids) -> list[TaxonCount]:
    """Per taxon: its individuals, events and detections; most individuals first."""
    people: dict[int, set[int]] = {}
    nights: dict[int, set[int]] = {}
    rows: Counter[int] = Counter()
    for taxon, event, individual in zip(
        taxa.tolist(), events.tolist(), individuals.tolist(), strict=True
    ):
        people.setdefault(taxon, set()).add(individual)
        nights.setdefault(taxon, set()).add(event)
        rows[taxon] += 1
    counts = [TaxonCount(t, len(people[t]), len(nights[t]), rows[t]) for t in people]
    return sorted(counts, key=lambda c: (-c.individuals, c.taxon_id))


def enough(count: TaxonCount) -> bool:
    """Whether a taxon takes part in a refit."""
    return count.events >= MIN_EVENTS_PER_TAXON


def shortfall(counts: Sequence[TaxonCount], names: Mapping[int, str], source: str) -> str | None:
    """What a refit on these taxa lacks, in a person's words; None when nothing."""
    kept = [c for c in counts if enough(c)]
    individuals = sum(c.individuals for c in kept)
    if len(kept) >= MIN_TAXA and individuals >= MIN_INDIVIDUALS:
        return None
    need = (
        f"a refit needs at least {MIN_INDIVIDUALS} identified individuals of at least "
        f"{MIN_TAXA} taxa, each taxon seen in at least {MIN_EVENTS_PER_TAXON} events"
    )
    if not counts:
        return f"{need}; nobody has identified an individual with features from {source}"
    shown = "; ".join(_counted(c, names) for c in counts[:10])
    more = f" and {len(counts) - 10} taxa more" if len(counts) > 10 else ""
    return (
        f"{need}; with features from {source} there are {len(kept)} such taxa and "
        f"{individuals} individuals of them ({shown}{more}): identify more individuals, of "
        "other nights too"
    )


def _counted(count: TaxonCount, names: Mapping[int, str]) -> str:
    name = names.get(count.taxon_id, f"taxon {count.taxon_id}")
    return f"{name}: {count.individuals} individuals in {count.events} events"


#: What a fit says of how far it has got: a stage in words, and the share of the fit done.
Progress = Callable[[str, float], None]


def _silent(stage: str, share: float) -> None:
    """A fit nobody follows."""


def event_folds(taxa: Ids, events: Ids, folds: int = FOLDS) -> list[tuple[Ids, Ids]]:
    """Training and test rows of each fold, every event on one side (taxa kept in proportion
    as far as events allow); fewer than ``folds`` when there are fewer events, or fewer
    detections of the commonest taxon."""
    splitter = _sklearn().model_selection.StratifiedGroupKFold
    # The splitter needs a taxon with at least as many detections as folds.
    n = min(folds, len(np.unique(events)), int(np.unique(taxa, return_counts=True)[1].max()))
    split = splitter(n_splits=n, shuffle=True, random_state=0).split(
        np.zeros((len(taxa), 1), np.float32), taxa, events
    )
    return [(train.astype(np.int64), test.astype(np.int64)) for train, test in split]


def held_out_predictions(
    x: Floats, y: Ids, folds: Sequence[tuple[Ids, Ids]], progress: Progress = _silent
) -> Ids:
    """Each row's taxon as predicted by a head fitted without the fold it is in; ``x`` is
    standardized. Each fold is fitted on all of ``x`` with its test rows weighted zero, which
    is the fit on its training rows alone without copying them."""
    predicted = np.full(len(y), -1, dtype=np.int64)
    for number, (train, test) in enumerate(folds):
        progress(f"cross-validating: fold {number + 1} of {len(folds)}", number / (len(folds) + 1))
        weights = np.zeros(len(y), dtype=np.float32)
        weights[train] = 1.0
        model, _ = _fitted(x, y, weights)
        for start in range(0, len(test), BLOCK_ROWS):
            rows = test[start : start + BLOCK_ROWS]
            predicted[rows] = model.predict(x[rows])
    return predicted


def standardize(x: Floats) -> tuple[Floats, Floats]:
    """Standardize the matrix in place (a column that never varies is left centred); its
    mean and scale. Worked out ``BLOCK_ROWS`` rows at a time, in 8-byte sums, so that no
    copy of the matrix is made."""
    rows = max(x.shape[0], 1)
    total = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, x.shape[0], BLOCK_ROWS):
        total += x[start : start + BLOCK_ROWS].sum(axis=0, dtype=np.float64)
    mean = total / rows
    squares = np.zeros(x.shape[1], dtype=np.float64)
    for start in range(0, x.shape[0], BLOCK_ROWS):
        block = x[start : start + BLOCK_ROWS] - mean
        squares += (block * block).sum(axis=0)
    scale = np.sqrt(squares / rows).astype(np.float32)
    scale[scale == 0] = 1.0
    x -= mean.astype(np.float32)
    x /= scale
    return mean.astype(np.float32), scale


def fit(examples: Examples, folds: int = FOLDS, progress: Progress = _silent) -> Refit:
    """Cross-validate a head by event, then fit it on every example, telling ``progress``
    before each fold and before the last fit. The taxa with too few identifications are left
    out; InvalidInput when what is left is not enough. The features are standardized in
    place: the caller's array is changed."""
    counts = census(examples.taxa, examples.events, examples.individuals)
    missing = shortfall(counts, {}, "this model")
    if missing is not None:
        raise InvalidInput(missing, field="features_from")
    kept_taxa = [c.taxon_id for c in counts if enough(c)]
    x, y, events, individuals = (
        examples.features, examples.taxa, examples.events, examples.individuals
    )  # fmt: skip
    if len(kept_taxa) < len(counts):
        keep = np.isin(y, kept_taxa)
        x, y, events, individuals = x[keep], y[keep], events[keep], individuals[keep]
    mean, scale = standardize(x)
    split = event_folds(y, events, folds)
    predicted = held_out_predictions(x, y, split, progress)
    progress("fitting on every identified detection", len(split) / (len(split) + 1))
    model, converged = _fitted(x, y, np.ones(len(y), dtype=np.float32))
    head = Head(
        coef=model.coef_.astype(np.float32),
        intercept=model.intercept_.astype(np.float32),
        mean=mean,
        scale=scale,
        labels=model.classes_.astype(np.int64),
    )
    by_taxon = {c.taxon_id: c for c in counts}
    return Refit(
        head=head,
        accuracy=float(np.mean(predicted == y)),
        folds=len(split),
        detections=len(y),
        individuals=len(np.unique(individuals)),
        taxa=figures(y, predicted, by_taxon),
        too_few=tuple(c for c in counts if not enough(c)),
        converged=converged,
    )


def figures(
    truth: Ids, predicted: Ids, counts: Mapping[int, TaxonCount]
) -> tuple[TaxonFigures, ...]:
    """Per taxon people named: support, predicted and correct detections; most support
    first."""
    support = Counter(truth.tolist())
    named = Counter(predicted.tolist())
    right = Counter(truth[truth == predicted].tolist())
    rows = [
        TaxonFigures(t, counts[t].individuals if t in counts else 0, n, named[t], right[t])
        for t, n in support.items()
    ]
    return tuple(sorted(rows, key=lambda r: (-r.support, r.taxon_id)))


def _fitted(x: Floats, y: Ids, weights: NDArray[np.float32]) -> tuple[Any, bool]:
    """A multinomial logistic regression fitted with these row weights, and whether it
    converged (a solver that ran out of iterations warns, too)."""
    model = _sklearn().linear_model.LogisticRegression(C=C, max_iter=MAX_ITER)
    model.fit(x, y, sample_weight=weights)
    return model, bool(np.max(model.n_iter_) < MAX_ITER)


def _sklearn() -> _SkLearn:
    try:
        import sklearn.linear_model
        import sklearn.model_selection
    except ImportError as exc:  # pragma: no cover - the server extra brings it
        raise MissingDependency(
            "refitting classifiers needs scikit-learn: pip install 'trapline[server]'"
        ) from exc
    # A taxon with fewer detections than folds is in fewer test folds: expected, and no cause
    # for the warning the splitter gives. One filter for that message alone, added once (a
    # filter changed around each split would not be safe beside other threads).
    warnings.filterwarnings("ignore", message="The least populated class", category=UserWarning)
    return _SkLearn(sklearn.linear_model, sklearn.model_selection)


@dataclass(frozen=True)
class _SkLearn:
    linear_model: Any
    model_selection: Any
