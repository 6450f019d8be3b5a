"""Regrouping events in the background after a rule changed (or capture times were re-read).

A regrouping is claimed under a lease (its row names this server as runner, renewed by a
heartbeat) and regroups one deployment per transaction, recording how far it got; one whose
runner went silent is taken over by the ``events`` duty of any replica.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from trapline.background.lease import Leased, LeaseKeeper
from trapline.background.runner import Runner
from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.errors import TraplineError
from trapline.services.events import regroup_step

log = logging.getLogger(__name__)

#: A running regrouping whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=60)
#: Seconds between runs of the ``events`` duty.
DUTY_INTERVAL = 10.0


class RegroupingLease(Leased):
    """A regrouping's runner and heartbeat."""

    seconds = STALE_AFTER.total_seconds()

    def __init__(self, regrouping_id: int) -> None:
        self.regrouping_id = regrouping_id
        self.name = f"event regrouping {regrouping_id}"

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.regroupings.claim(self.regrouping_id, holder, now, now - STALE_AFTER)

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.regroupings.heartbeat(self.regrouping_id, holder, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.regroupings.release(self.regrouping_id, holder)


class RegroupingRunner:
    """Runs regroupings of events on one thread of this process."""

    def __init__(self, db: Database, *, name: str, clock: Clock) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.keeper = LeaseKeeper(db, holder=name, clock=clock)
        self._runner: Runner[int] = Runner(self._run_logged, workers=1, name="regroup")

    def submit(self, regrouping_id: int) -> None:
        """Run the regrouping soon (once, however often asked)."""
        self._runner.submit(regrouping_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the regroupings submitted here have ended; False on timeout."""
        return self._runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop: a running regrouping goes back to the queue at its next deployment."""
        self._runner.close()

    def resume(self) -> None:
        """The duty: run waiting regroupings and those whose runner went silent."""
        with self.db.read() as repos:
            found = repos.regroupings.claimable(self.clock.now() - STALE_AFTER)
        for regrouping_id in found:
            self.submit(regrouping_id)

    def run(self, regrouping_id: int) -> bool:
        """Claim the regrouping and run it to its end here; False when it was not to claim."""
        lease = RegroupingLease(regrouping_id)
        if not self.keeper.acquire(lease):
            return False
        try:
            with self.keeper.kept(lease) as lost:
                while not lost.is_set():
                    if self._runner.closing.is_set():
                        self.keeper.release(lease)
                        return True
                    step = regroup_step(self.db, regrouping_id, self.name, self.clock.now())
                    if step is None or step:  # no longer ours, or done
                        break
        except TraplineError as exc:
            log.warning("event regrouping %s failed: %s", regrouping_id, exc.detail)
            self._fail(regrouping_id, exc.detail)
        return True

    def _run_logged(self, regrouping_id: int) -> None:
        try:
            self.run(regrouping_id)
        except Exception:
            log.exception("event regrouping %s failed", regrouping_id)
            self._fail(regrouping_id, "internal error; see the server log")

    def _fail(self, regrouping_id: int, reason: str) -> None:
        try:
            with self.db.write() as repos:
                repos.regroupings.fail(regrouping_id, self.name, reason, self.clock.now())
        except TraplineError as exc:
            log.warning("could not record that regrouping %s failed: %s", regrouping_id, exc.detail)
