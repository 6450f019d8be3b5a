"""A refitted classifier head as stored: standardization, weights and the taxa it names.

The head is a multinomial logistic regression over one model's feature vectors (decision 069):
a vector is standardized (``mean``, ``scale``), multiplied by ``coef`` and shifted by
``intercept``; the softmax of the result gives a probability per taxon of ``labels`` (taxon
ids). With two taxa scikit-learn fits one row of weights, for the second taxon against the
first; ``probabilities`` reads both shapes. Stored as NumPy's ``.npz`` of 4-byte floats (and
8-byte taxon ids), without pickles: 2,048 numbers a vector and 500 taxa take 4 MB.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

Floats = NDArray[np.float32]
Ids = NDArray[np.int64]

#: The arrays of a stored head, by name.
_PARTS = ("coef", "intercept", "mean", "scale", "labels")


@dataclass(frozen=True, eq=False)
class Head:
    """A fitted head: ``coef`` (taxa x features, or 1 x features for two taxa), ``intercept``,
    the standardization (``mean``, ``scale``) and the taxon id of each class (``labels``)."""

    coef: Floats
    intercept: Floats
    mean: Floats
    scale: Floats
    labels: Ids

    @property
    def length(self) -> int:
        """How many numbers a feature vector it reads has."""
        return int(self.mean.shape[0])

    def probabilities(self, features: Floats) -> Floats:
        """Per vector (rows), the probability of each taxon of ``labels`` (columns)."""
        if features.ndim != 2 or features.shape[1] != self.length:
            raise ValueError(
                f"the head reads vectors of {self.length} numbers (got {features.shape})"
            )
        z = ((features - self.mean) / self.scale) @ self.coef.T + self.intercept
        if self.coef.shape[0] == 1:  # two taxa: the logit of the second against the first
            z = np.hstack([np.zeros_like(z), z])
        z -= z.max(axis=1, keepdims=True)
        e = np.exp(z)
        shares: Floats = (e / e.sum(axis=1, keepdims=True)).astype(np.float32)
        return shares

    def predict(self, features: Floats) -> Ids:
        """The most probable taxon of each vector."""
        best: Ids = self.labels[np.argmax(self.probabilities(features), axis=1)]
        return best

    def to_bytes(self) -> bytes:
        """The head as stored (an ``.npz`` of its arrays)."""
        out = io.BytesIO()
        np.savez(out, **{name: getattr(self, name) for name in _PARTS})
        return out.getvalue()

    @classmethod
    def from_bytes(cls, stored: bytes) -> Head:
        """A stored head read back."""
        with np.load(io.BytesIO(stored), allow_pickle=False) as arrays:
            return cls(
                coef=arrays["coef"].astype(np.float32),
                intercept=arrays["intercept"].astype(np.float32),
                mean=arrays["mean"].astype(np.float32),
                scale=arrays["scale"].astype(np.float32),
                labels=arrays["labels"].astype(np.int64),
            )
