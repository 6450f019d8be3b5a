"""Regrouping events in the background after a rule changed (or capture times were re-read).

A regrouping is a run (``background/stepped.py``) that regroups one deployment per step; one
whose runner went silent is taken over by the ``events`` duty of any replica.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from trapline.background.stepped import Runs, SteppedRunner
from trapline.db.repositories import Repos
from trapline.services.ecology.events import regroup_step

#: A running regrouping whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=60)
#: Seconds between runs of the ``events`` duty.
DUTY_INTERVAL = 10.0


class RegroupingRunner(SteppedRunner):
    """Runs regroupings of events on one thread of this process."""

    what = "event regrouping"
    thread = "regroup"
    stale_after = STALE_AFTER

    def runs(self, repos: Repos) -> Runs:
        return repos.ecology.regroupings

    def step(self, run_id: int, now: datetime) -> bool | None:
        return regroup_step(self.db, run_id, self.name, now)
