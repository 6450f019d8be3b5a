"""Fitting detection scorers in the background (decision 073).

A scorer is a run (``background/stepped.py``) of one step: read the reviewed photos from
storage, find their blobs, cross-validate by night, fit and store, while the lease keeper's
heartbeat says this server is alive. One whose server died in it is taken over by the
``detection-scorers`` duty of any replica and fitted again from the start (three claims at
most).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trapline.background.stepped import Runs, SteppedRunner
from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.imaging.limits import DecodeLimits
from trapline.services.review.detection_scorers import fit_scorer
from trapline.storage.base import BlobStore

#: A fitting scorer whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=90)
#: Seconds between runs of the ``detection-scorers`` duty.
DUTY_INTERVAL = 10.0


class ScorerRunner(SteppedRunner):
    """Fits detection scorers on one thread of this process."""

    what = "detection scorer"
    thread = "scorer"
    stale_after = STALE_AFTER

    def __init__(
        self, db: Database, store: BlobStore, limits: DecodeLimits, *, name: str, clock: Clock
    ) -> None:
        super().__init__(db, name=name, clock=clock)
        self.store = store
        self.limits = limits

    def runs(self, repos: Repos) -> Runs:
        return repos.review.detection_scorers

    def step(self, run_id: int, now: datetime) -> bool | None:
        return fit_scorer(self.db, self.store, self.limits, run_id, self.name, self.clock)
