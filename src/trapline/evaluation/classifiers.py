"""A classifier head refitted from a project's identifications, as stored: what it reads, how
far its fit got, what it was fitted on and how it did (``refit.py`` fits it)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from trapline.evaluation.fits import FitStatus

#: How ``features_from`` asks for trapline's crop descriptors of a pipeline's boxes instead of
#: the pipeline's own vectors: ``crops:megadetector``, ``crops:megadetector@2`` (decision 074).
CROPS = "crops:"


@dataclass(frozen=True)
class Classifier:
    """A refit: its name, the pipeline whose features it reads (slug; the version and vector
    length once fitted), its status, and once fitted what it was fitted on and its
    cross-validated figures (``results``, as ``refit_results`` writes them)."""

    id: int
    project_id: int
    name: str
    features_from: str
    status: FitStatus
    error: str | None
    features_version: int | None
    features_length: int | None
    identifications: int | None
    latest_identification_id: int | None
    individuals: int | None
    detections: int | None
    results: dict[str, Any] | None
    created_by: str | None
    created_at: datetime
    fitted_at: datetime | None
    #: While it is fitted: what it is doing, and the share of the fit done (0 to 1).
    stage: str | None = None
    progress: float | None = None

    @property
    def on_crops(self) -> bool:
        """Whether it reads trapline's crop descriptors of its pipeline's boxes, not vectors the
        pipeline posted."""
        return on_crops(self.features_from)

    @property
    def boxes_of(self) -> str:
        """The pipeline (slug, or ``slug@N``) whose boxes it names: the one whose features it
        reads, or whose boxes' crops it describes."""
        return self.features_from.removeprefix(CROPS)


def on_crops(features_from: str) -> bool:
    """Whether ``features_from`` asks for crop descriptors (``crops:slug``)."""
    return features_from.strip().startswith(CROPS)
