"""Long feature vectors projected onto their main directions before a head is fitted (decision
075).

A backbone's vectors are long (AMI Data Companion's: 2,048 numbers) and their numbers move
together: a few hundred directions hold nearly all of how crops differ. A refit reads its
vectors twice, block by block. The first pass sums each number, its square and each pair's
product (the covariance, 2,048 x 2,048 in 8-byte floats: 32 MB), from which the standardized
vectors' main directions follow. The second pass keeps each vector's coordinates along the
first ``COMPONENTS`` of them: 100,000 vectors take 100 MB instead of 800 MB, and the solver
works on a matrix an eighth as wide.

The head fitted on the coordinates is linear, and so is the projection: ``lift`` folds the two
into one head over the model's own vectors, stored and applied as any other.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from trapline.evaluation.heads import Floats, Head, Ids

#: The directions a long vector is reduced to. Vectors of this many numbers or fewer are only
#: standardized.
COMPONENTS = 256


@dataclass(frozen=True, eq=False)
class Projection:
    """Standardize a vector (``mean``, ``scale``), then take its coordinates along ``basis``'s
    columns (numbers x directions)."""

    mean: Floats
    scale: Floats
    basis: Floats | None

    @property
    def width(self) -> int:
        """How many numbers a projected vector has."""
        return int(self.mean.shape[0] if self.basis is None else self.basis.shape[1])

    def apply(self, block: Floats) -> Floats:
        """The projected rows of ``block`` (rows x the model's numbers)."""
        standard: Floats = ((block - self.mean) / self.scale).astype(np.float32)
        return standard if self.basis is None else standard @ self.basis

    def lift(self, head: Head) -> Head:
        """A head over the model's own vectors that gives what ``head`` gives over their
        projections."""
        w = head.coef / head.scale  # taxa x directions, on unstandardized coordinates
        coef = w if self.basis is None else w @ self.basis.T
        return Head(
            coef=coef.astype(np.float32),
            intercept=(head.intercept - w @ head.mean).astype(np.float32),
            mean=self.mean,
            scale=self.scale,
            labels=head.labels,
        )


def fit_projection(
    blocks: Iterable[Floats], length: int, components: int = COMPONENTS
) -> Projection:
    """The projection of vectors of ``length`` numbers read in ``blocks`` (rows x ``length``),
    in one pass holding ``length`` squared sums; a number that never varies is left centred."""
    rows = 0
    shift: Floats | None = None  # the first block's mean: sums of what is left lose no digits
    total = np.zeros(length, dtype=np.float64)
    squares = np.zeros(length, dtype=np.float64)
    products = np.zeros((length, length), dtype=np.float64) if length > components else None
    for block in blocks:
        if shift is None:
            shift = block.mean(axis=0, dtype=np.float64).astype(np.float32)
        centred = block - shift
        rows += centred.shape[0]
        total += centred.sum(axis=0, dtype=np.float64)
        squares += np.square(centred, dtype=np.float64).sum(axis=0)
        if products is not None:  # a block's products in 4-byte floats, their sum in 8
            products += centred.T @ centred
    count = max(rows, 1)
    offset = total / count
    variance = np.maximum(squares / count - offset * offset, 0.0)
    mean = offset + (0.0 if shift is None else shift)
    scale = np.sqrt(variance)
    scale[scale <= 1e-6 * np.maximum(1.0, np.abs(mean))] = 1.0
    basis = None
    if products is not None:
        covariance = products / count - np.outer(offset, offset)
        correlation = covariance / np.outer(scale, scale)
        values, vectors = np.linalg.eigh(correlation)  # ascending
        basis = vectors[:, np.argsort(values)[::-1][:components]].astype(np.float32)
    return Projection(mean.astype(np.float32), scale.astype(np.float32), basis)


def projected(blocks: Iterable[tuple[Ids, Floats]], rows: int, projection: Projection) -> Floats:
    """One matrix of the projected vectors, allocated at its final size: each block comes with
    the row each of its vectors takes."""
    matrix = np.empty((rows, projection.width), dtype=np.float32)
    for where, block in blocks:
        matrix[where] = projection.apply(block)
    return matrix
