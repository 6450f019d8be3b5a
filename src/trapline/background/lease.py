"""The lease keeper: the one way background work holds a database lease.

Whatever is leased (a duty's row in ``duty_leases``, a pull source's run lease, an export's
runner and heartbeat) says how to take, renew and give back its row in a ``Leased``; the
keeper does the rest, the same for all of them: take it, renew it on a thread every third of
its length (or its own ``every``) while the work lasts, tell the work when another holder
has it (an Event the work checks, and an optional callback), and give it back.

A renewal the database refuses (``TraplineError``) is tried again three times as often while
the lease lasts; a renewal that finds another holder ends the renewing and sets ``lost``, and
so does the lease's expiry passing without a renewal going through (the database away until
the lease ran out): by then another holder may have taken it, so the work stops rather than
run beside it.
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
    #: When the lease runs out, as of the keeper's last take or renewal that went through.
    until: datetime | None = None

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
        until = now + timedelta(seconds=lease.seconds)
        with self.db.write() as repos:
            taken = lease.take(repos, self.holder, now, until)
        if taken:
            lease.until = until
        return taken

    @contextmanager
    def kept(
        self, lease: Leased, on_lost: Callable[[], None] | None = None
    ) -> Iterator[threading.Event]:
        """Renew the lease (taken by ``acquire``) while the block runs; yields the Event set
        once it is lost, to another holder or by running out (the work checks it, and
        stops), and calls ``on_lost`` then."""
        lost, done = threading.Event(), threading.Event()
        if lease.until is None:
            lease.until = self.clock.now() + timedelta(seconds=lease.seconds)

        def renew() -> None:
            turn = lease.every
            while not self.clock.wait(self._next_turn(lease, turn), done):
                renewed = self._renew(lease)
                if renewed is False:
                    lost.set()
                    if on_lost is not None:
                        on_lost()
                    return
                # Refused (None): sooner again, for the lease has less time left.
                turn = lease.every if renewed else lease.every / 3

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

    def _next_turn(self, lease: Leased, turn: float) -> float:
        """Seconds to the next renewal: ``turn``, or less when the lease runs out sooner."""
        assert lease.until is not None
        left = (lease.until - self.clock.now()).total_seconds()
        return max(0.0, min(turn, left))

    def _renew(self, lease: Leased) -> bool | None:
        """One renewal: True when it went through; None when the database refused it; False
        when another holder has the lease, or when it ran out before a renewal went through."""
        now = self.clock.now()
        assert lease.until is not None
        if now >= lease.until:
            log.warning(
                "%s: its lease ran out at %s without a renewal going through; the work stops, "
                "as another holder may have taken it",
                lease.name,
                lease.until.isoformat(),
            )
            return False
        until = now + timedelta(seconds=lease.seconds)
        try:
            with self.db.write() as repos:
                renewed = lease.renew(repos, self.holder, now, until)
        except TraplineError as exc:  # the database is away: try again while the lease lasts
            log.warning("%s: could not renew its lease: %s", lease.name, exc.detail)
            return None
        if renewed:
            lease.until = until
        return renewed
