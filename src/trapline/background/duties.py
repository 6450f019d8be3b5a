"""Background duties of a server: each runs on one replica at a time, guarded by a lease.

Before each run the runner takes (or renews) the duty's row in ``duty_leases``; while the run
lasts the lease keeper renews it, so a run longer than the lease (a reconciler pass over many
jobs, a slow NATS) does not let another replica run the same duty beside it. A run that loses
its lease all the same (another replica took it, or it ran out while the database refused
renewals) is told through the ``Stop`` it was handed, and ends at its next step, as exports,
pull sources and stepped runs do.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from datetime import datetime
from functools import partial

from trapline.background.lease import Leased, LeaseKeeper
from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.domain.core.duties import (
    Duty as Duty,  # the duties' type, for those who build the list
)
from trapline.domain.core.duties import Stop as Stop
from trapline.errors import TraplineError

log = logging.getLogger(__name__)

#: Shortest lease on a duty by default (a duty's lease is three of its intervals, or this);
#: ``TRAPLINE_DUTY_MIN_LEASE`` sets another.
MIN_LEASE_SECONDS = 15.0
#: Seconds a stopping server waits for a duty's run to end.
STOP_WAIT = 5.0


def server_identity() -> str:
    """A name for this server process, unique across replicas and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class DutyLease(Leased):
    """A duty's row in ``duty_leases``."""

    def __init__(self, duty: Duty, min_lease: float = MIN_LEASE_SECONDS) -> None:
        self.duty = duty
        self.name = f"duty {duty.name}"
        self.min_lease = min_lease

    @property
    def seconds(self) -> float:  # type: ignore[override]
        """How long the lease lasts from its last renewal: when the replica holding it dies,
        another takes the duty over after at most this long."""
        return max(3 * self.duty.interval, self.min_lease)

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return repos.core.duty_leases.acquire(self.duty.name, holder, until, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        repos.core.duty_leases.release(self.duty.name, holder)


class DutyRunner:
    """Runs duties on a thread; before each run it takes (or renews) the duty's lease."""

    def __init__(
        self,
        db: Database,
        duties: list[Duty],
        holder: str | None = None,
        *,
        clock: Clock | None = None,
        min_lease: float = MIN_LEASE_SECONDS,
    ) -> None:
        self.db = db
        self.duties = duties
        self.holder = holder or server_identity()
        self.clock = clock or SystemClock()
        self.keeper = LeaseKeeper(db, holder=self.holder, clock=self.clock)
        self._leases = {d.name: DutyLease(d, min_lease) for d in duties}
        self._due = dict.fromkeys((d.name for d in duties), 0.0)
        self._stop = threading.Event()
        self._running = threading.Lock()
        #: The duty running now, if any.
        self._current: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run duties in the background until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="duties", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and hand the leases back (but that of a run still going after STOP_WAIT: it
        expires on its own, so no other replica runs that duty alongside this one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT)
        running = self._current
        for duty in self.duties:
            if duty.name != running:
                self.keeper.release(self._leases[duty.name])
        if running is not None:
            log.warning("stopping in the middle of duty %s; its lease expires on its own", running)

    def run_once(self, now: float | None = None) -> list[str]:
        """Run every duty that is due and whose lease this runner gets; returns the names of
        those that ran to their end (not those stopped early by losing their lease).
        ``now`` is a reading of the clock's ``monotonic`` (the clock's own by default)."""
        with self._running:  # the background loop and a caller (tests, admin) take turns
            return self._run_due(self.clock.monotonic() if now is None else now)

    def _run_due(self, at: float) -> list[str]:
        ran = []
        for duty in self.duties:
            if self._stop.is_set():  # stopping: a lease handed back is not taken again
                break
            if at < self._due[duty.name]:
                continue
            self._due[duty.name] = at + duty.interval
            lease = self._leases[duty.name]
            if not self._take(lease):
                continue
            self._current = duty.name
            try:
                with self.keeper.kept(lease, on_lost=partial(_lost, duty)) as lost:
                    duty.run(lost)
                if lost.is_set():
                    log.warning("duty %s: stopped early, its lease lost", duty.name)
                else:
                    ran.append(duty.name)
            except TraplineError as exc:
                log.warning("duty %s failed: %s", duty.name, exc.detail)
            except Exception:
                log.exception("duty %s failed", duty.name)
            finally:
                self._current = None
        return ran

    def _take(self, lease: DutyLease) -> bool:
        try:
            return self.keeper.acquire(lease)
        except TraplineError:
            return False

    def _loop(self) -> None:
        tick = min((d.interval for d in self.duties), default=1.0) / 2
        while not self.clock.wait(max(tick, 0.05), self._stop):
            self.run_once()


def _lost(duty: Duty) -> None:
    log.warning(
        "duty %s: lost its lease during a long run (another replica took it, or it ran out "
        "while the database refused renewals); the run stops at its next step",
        duty.name,
    )
