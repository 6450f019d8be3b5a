"""The lease keeper: the one way background work holds a database lease.

Whatever is leased (a duty's row in ``duty_leases``, a pull source's run lease, an export's
runner and heartbeat) says how to take, renew and give back its row in a ``Leased``; the
keeper does the rest, the same for all of them: take it, renew it on a thread every third of
its length (or its own ``every``) while the work lasts, tell the work when another holder
has it (an Event the work checks, and an optional callback), and give it back.

A renewal the database refuses for a moment (``TraplineError``) is tried again at the next
turn, as the lease has room for two more; a renewal that finds another holder ends the
renewing and sets ``lost``.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.errors import TraplineError

log = logging.getLogger(__name__)


class Leased(ABC):
    """One thing held under a lease, and how its row is taken, renewed and given back.

    Each hook runs in a writing transaction the keeper opens; ``take`` may do more in it (a
    source run opens its run record in the transaction that takes the lease).
    """

    #: What the logs and the renewing thread call it (``duty reaper``, ``pull source 4``).
    name: str
    #: Seconds the lease lasts from its last renewal.
    seconds: float

    @property
    def every(self) -> float:
        """Seconds between renewals: a third of the lease, so two may fail before it ends."""
        return self.seconds / 3

    @abstractmethod
    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        """Take the lease (or renew it, when ``holder`` has it); False while another has it."""

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        """Extend the lease ``holder`` has; False when another holder has it now."""
        return self.take(repos, holder, now, until)

    @abstractmethod
    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        """Hand the lease back so that another holder may take it at once."""


class LeaseKeeper:
    """Takes, renews and gives back leases for one holder (a server process)."""

    def __init__(self, db: Database, *, holder: str, clock: Clock) -> None:
        self.db = db
        self.holder = holder
        self.clock = clock

    def acquire(self, lease: Leased) -> bool:
        """Take (or renew) the lease now; False while another holder has it. Database errors
        are the caller's to judge."""
        now = self.clock.now()
        with self.db.write() as repos:
            return lease.take(repos, self.holder, now, now + timedelta(seconds=lease.seconds))

    @contextmanager
    def kept(
        self, lease: Leased, on_lost: Callable[[], None] | None = None
    ) -> Iterator[threading.Event]:
        """Renew the lease while the block runs; yields the Event set once it is lost (the
        work checks it, and stops), and calls ``on_lost`` then."""
        lost, done = threading.Event(), threading.Event()

        def renew() -> None:
            while not self.clock.wait(lease.every, done):
                if not self._renew(lease):
                    lost.set()
                    if on_lost is not None:
                        on_lost()
                    return

        keeper = threading.Thread(target=renew, name=f"lease {lease.name}", daemon=True)
        keeper.start()
        try:
            yield lost
        finally:
            done.set()
            keeper.join()

    def release(self, lease: Leased) -> bool:
        """Give the lease back; False (logged) when the database is away: it then runs out on
        its own."""
        try:
            with self.db.write() as repos:
                lease.give_back(repos, self.holder, self.clock.now())
        except TraplineError as exc:
            log.warning("%s: could not hand its lease back: %s", lease.name, exc.detail)
            return False
        return True

    def _renew(self, lease: Leased) -> bool:
        """One renewal: False only when another holder has the lease."""
        now = self.clock.now()
        try:
            with self.db.write() as repos:
                return lease.renew(repos, self.holder, now, now + timedelta(seconds=lease.seconds))
        except TraplineError as exc:  # the database is away: the lease has room, try again
            log.warning("%s: could not renew its lease: %s", lease.name, exc.detail)
            return True
