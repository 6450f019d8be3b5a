"""Re-reading capture times in the background after a time zone changed.

A re-reading is claimed under a lease (its row names this server as runner, renewed by a
heartbeat) and advances a batch of images per transaction, recording how far it got; a
server that stops hands it back, and one whose runner went silent is taken over by the
``capture-times`` duty of any replica and goes on from its last batch.
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
from trapline.services.capture_times import BATCH_SIZE, reread_batch

log = logging.getLogger(__name__)

#: A running re-reading whose runner has been silent this long is taken over.
STALE_AFTER = timedelta(seconds=60)
#: Seconds between runs of the ``capture-times`` duty.
DUTY_INTERVAL = 10.0


class RereadLease(Leased):
    """A re-reading's runner and heartbeat."""

    seconds = STALE_AFTER.total_seconds()

    def __init__(self, reread_id: int) -> None:
        self.reread_id = reread_id
        self.name = f"capture-time re-reading {reread_id}"

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.capture_times.claim(self.reread_id, holder, now, now - STALE_AFTER)

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.capture_times.heartbeat(self.reread_id, holder, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.capture_times.release(self.reread_id, holder)


class RereadRunner:
    """Runs re-readings of capture times on a small pool of this process."""

    def __init__(
        self, db: Database, *, name: str, clock: Clock, batch_size: int = BATCH_SIZE
    ) -> None:
        self.db = db
        self.name = name
        self.clock = clock
        self.batch_size = batch_size
        self.keeper = LeaseKeeper(db, holder=name, clock=clock)
        self._runner: Runner[int] = Runner(self._run_logged, workers=1, name="reread")

    def submit(self, reread_id: int) -> None:
        """Run the re-reading soon (once, however often asked)."""
        self._runner.submit(reread_id)

    def wait_idle(self, timeout: float) -> bool:
        """Wait until the re-readings submitted here have ended; False on timeout."""
        return self._runner.wait_idle(timeout)

    def close(self) -> None:
        """Stop: a running re-reading goes back to the queue at its next batch."""
        self._runner.close()

    def resume(self) -> None:
        """The duty: run waiting re-readings and those whose runner went silent."""
        with self.db.read() as repos:
            found = repos.capture_times.claimable(self.clock.now() - STALE_AFTER)
        for reread_id in found:
            self.submit(reread_id)

    def run(self, reread_id: int) -> bool:
        """Claim the re-reading and run it to its end here; False when it was not to claim."""
        lease = RereadLease(reread_id)
        if not self.keeper.acquire(lease):
            return False
        try:
            with self.keeper.kept(lease) as lost:
                while not lost.is_set():
                    if self._runner.closing.is_set():
                        self.keeper.release(lease)
                        return True
                    step = reread_batch(
                        self.db, reread_id, self.name, self.clock.now(), self.batch_size
                    )
                    if step is None or step:  # no longer ours, or done
                        break
        except TraplineError as exc:
            log.warning("capture-time re-reading %s failed: %s", reread_id, exc.detail)
            self._fail(reread_id, exc.detail)
        return True

    def _run_logged(self, reread_id: int) -> None:
        try:
            self.run(reread_id)
        except Exception:
            log.exception("capture-time re-reading %s failed", reread_id)
            self._fail(reread_id, "internal error; see the server log")

    def _fail(self, reread_id: int, reason: str) -> None:
        try:
            with self.db.write() as repos:
                repos.capture_times.fail(reread_id, self.name, reason, self.clock.now())
        except TraplineError as exc:
            log.warning("could not record that re-reading %s failed: %s", reread_id, exc.detail)
