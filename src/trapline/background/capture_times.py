"""Re-reading capture times in the background after a time zone changed.

A re-reading is a run (``background/stepped.py``) that advances a batch of images per step; a
server that stops hands it back, and one whose runner went silent is taken over by the
``capture-times`` duty of any replica and goes on from its last batch.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trapline.background.stepped import Runs, SteppedRunner
from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.services.photos.capture_times import BATCH_SIZE, reread_batch

#: A running re-reading whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=60)
#: Seconds between runs of the ``capture-times`` duty.
DUTY_INTERVAL = 10.0


class RereadRunner(SteppedRunner):
    """Runs re-readings of capture times on one thread of this process."""

    what = "capture-time re-reading"
    thread = "reread"
    stale_after = STALE_AFTER

    def __init__(
        self, db: Database, *, name: str, clock: Clock, batch_size: int = BATCH_SIZE
    ) -> None:
        super().__init__(db, name=name, clock=clock)
        self.batch_size = batch_size

    def runs(self, repos: Repos) -> Runs:
        return repos.photos.capture_times

    def step(self, run_id: int, now: datetime) -> bool | None:
        return reread_batch(self.db, run_id, self.name, now, self.batch_size)
