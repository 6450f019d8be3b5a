"""Grouping unidentified individuals in the background (decision 072).

A grouping is a run (``background/stepped.py``) of one step: read the individuals' vectors a
block at a time, group them and store the groups, while the lease keeper's heartbeat says
this server is alive. One whose server died in it is taken over by the ``groupings`` duty of
any replica and worked out again from the start (three claims at most).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trapline.background.stepped import Runs, SteppedRunner
from trapline.db.repositories import Repos
from trapline.services.review.groupings import run_grouping

#: A running grouping whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=90)
#: Seconds between runs of the ``groupings`` duty.
DUTY_INTERVAL = 10.0


class GroupingRunner(SteppedRunner):
    """Works out groupings on one thread of this process."""

    what = "grouping"
    thread = "grouping"
    stale_after = STALE_AFTER

    def runs(self, repos: Repos) -> Runs:
        return repos.review.groupings

    def step(self, run_id: int, now: datetime) -> bool | None:
        return run_grouping(self.db, run_id, self.name, self.clock)
