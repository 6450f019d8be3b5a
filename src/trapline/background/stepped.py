"""Runs done step by step in the background, under a lease: what regrouping events and
re-reading capture times are built on.

A run is a row of its own table (``db/leased_rows.py``), claimed under a lease (the row names
this server as its runner, renewed by a heartbeat) and advanced one step per transaction,
each recording how far it got. A server that stops hands its run back at the next step; one
whose runner went silent (or lost its lease) is taken over by the duty of any replica, which
goes on from the last step. A kind of run says what its rows are and what one step does.
"""

from __future__ import annotations

import logging
from abc import abstractmethod
from datetime import datetime, timedelta
from typing import Protocol

from trapline.background.lease import Leased
from trapline.background.leased_runs import LeasedRuns
from trapline.db.repositories import Repos
from trapline.errors import TraplineError

log = logging.getLogger(__name__)


class Runs(Protocol):
    """The repository of a kind of run: its rows' claim, heartbeat, hand-back and failure."""

    def fail_exhausted(self, stale: datetime, now: datetime, /) -> int: ...
    def claimable(self, stale: datetime, /) -> list[int]: ...
    def claim(self, run_id: int, holder: str, now: datetime, stale: datetime, /) -> bool: ...
    def heartbeat(self, run_id: int, holder: str, now: datetime, /) -> bool: ...
    def release(self, run_id: int, holder: str, /) -> None: ...
    def fail(self, run_id: int, holder: str, reason: str, now: datetime, /) -> None: ...


class RunLease(Leased):
    """A run's row: its runner and heartbeat."""

    def __init__(self, runner: SteppedRunner, run_id: int) -> None:
        self.runner = runner
        self.run_id = run_id
        self.name = f"{runner.what} {run_id}"
        self.seconds = runner.stale_after.total_seconds()

    def take(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        stale = now - self.runner.stale_after
        return self.runner.runs(repos).claim(self.run_id, holder, now, stale)

    def renew(self, repos: Repos, holder: str, now: datetime, until: datetime) -> bool:
        return self.runner.runs(repos).heartbeat(self.run_id, holder, now)

    def give_back(self, repos: Repos, holder: str, now: datetime) -> None:
        self.runner.runs(repos).release(self.run_id, holder)


class SteppedRunner(LeasedRuns):
    """Runs one kind of run on one thread of this process, step by step."""

    #: A running run whose runner has been silent this long is taken over.
    stale_after: timedelta

    @abstractmethod
    def runs(self, repos: Repos) -> Runs:
        """The repository of these runs."""

    @abstractmethod
    def step(self, run_id: int, now: datetime) -> bool | None:
        """One step in a transaction of its own: True when the run is done, False when there
        are more, None when the run is no longer this runner's."""

    def resume(self) -> None:
        """The duty: fail runs whose servers died in them too often, do runs waiting and
        those whose runner went silent."""
        now = self.clock.now()
        stale = now - self.stale_after
        with self.db.read() as repos:
            found = self.runs(repos).claimable(stale)
        if not found:
            return
        with self.db.write() as repos:
            if self.runs(repos).fail_exhausted(stale, now):
                found = self.runs(repos).claimable(stale)
        for run_id in found:
            self.submit(run_id)

    def run(self, run_id: int) -> bool:
        """Claim the run and do it to its end here; False when it was not to claim."""
        lease = RunLease(self, run_id)
        if not self.keeper.acquire(lease):
            return False
        try:
            with self.keeper.kept(lease) as lost:
                while not lost.is_set():
                    if self.closing:
                        self.keeper.release(lease)
                        return True
                    step = self.step(run_id, self.clock.now())
                    if step is None or step:  # no longer ours, or done
                        break
        except TraplineError as exc:
            log.warning("%s %s failed: %s", self.what, run_id, exc.detail)
            self.fail(run_id, exc.detail)
        return True

    def record_failure(self, repos: Repos, run_id: int, reason: str, now: datetime) -> None:
        self.runs(repos).fail(run_id, self.name, reason, now)
