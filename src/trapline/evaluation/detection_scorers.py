"""A detection scorer refitted from a project's box reviews, as stored: how far its fit got,
what it was fitted on, its weights and its held-out figures (``blob_scorer.py`` fits it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trapline.evaluation.fits import FitStatus


@dataclass(frozen=True)
class DetectionScorer:
    """A scorer: its name, its status, and once fitted its weights (``ScorerWeights.as_dict``),
    what it was fitted on and its held-out figures (``results``, as ``scorer_results`` writes
    them)."""

    id: int
    project_id: int
    name: str
    status: FitStatus
    error: str | None
    weights: dict[str, float] | None
    results: dict[str, Any] | None
    #: Reviewed photos read, blobs that were insects and blobs that were not.
    photos: int | None
    insects: int | None
    others: int | None
    #: The newest review it could take (every older one was there to take).
    latest_review_id: int | None
    created_by: str | None
    created_at: datetime
    fitted_at: datetime | None
    #: While it is fitted: what it is doing, and the share of the fit done (0 to 1).
    stage: str | None = None
    progress: float | None = None
