"""Where a fit run in the background is (a classifier refit, a detection scorer)."""

from __future__ import annotations

from enum import StrEnum


class FitStatus(StrEnum):
    """Waiting for a server, being fitted, fitted, or failed (with its ``error``)."""

    QUEUED = "queued"
    FITTING = "fitting"
    FITTED = "fitted"
    FAILED = "failed"

    @property
    def final(self) -> bool:
        """Whether the fit will not change any more (fitted or failed)."""
        return self in (FitStatus.FITTED, FitStatus.FAILED)
