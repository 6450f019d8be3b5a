"""Fitting refitted classifier heads in the background (decision 069).

A refit is a run (``background/stepped.py``) of one step: read the identified detections'
vectors, cross-validate, fit and store, while the lease keeper's heartbeat says this server is
alive. One whose server died in it is taken over by the ``classifiers`` duty of any replica
and fitted again from the start (three claims at most).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trapline.background.stepped import Runs, SteppedRunner
from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.services.review.classifiers import fit_classifier
from trapline.services.review.crop_features import Photos

#: A fitting refit whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=90)
#: Seconds between runs of the ``classifiers`` duty.
DUTY_INTERVAL = 10.0


class RefitRunner(SteppedRunner):
    """Fits refits on one thread of this process."""

    what = "classifier refit"
    thread = "refit"
    stale_after = STALE_AFTER

    def __init__(self, db: Database, *, name: str, clock: Clock, photos: Photos) -> None:
        super().__init__(db, name=name, clock=clock)
        #: Where a refit on crops reads its boxes' photos (decision 074).
        self.photos = photos

    def runs(self, repos: Repos) -> Runs:
        return repos.review.classifiers

    def step(self, run_id: int, now: datetime) -> bool | None:
        return fit_classifier(self.db, run_id, self.name, self.clock, self.photos)
