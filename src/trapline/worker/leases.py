"""Keeping leases alive, and learning which are gone: tasks still in hand past half their lease
are extended, and every few seconds all of them are, which is also how the worker learns that
a job was canceled (its leases answer ``lost``) and drops the rest of that job's work."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable

from trapline.worker.client import ApiError, PlatformClient, Stopped, Task

log = logging.getLogger(__name__)

#: Seconds between extensions of every task in hand: how soon the worker learns that the
#: platform no longer holds some for it (their job was canceled) and stops working on them.
PROBE_EVERY = 5.0


class TaskLeases:
    """Tracks the tasks this worker holds and extends their leases from a background thread.

    A task is held from its claim until its result is posted. Platforms that don't say how
    long a lease lasts (Antenna) or lack the extend call are left alone.
    """

    def __init__(
        self,
        client: PlatformClient,
        *,
        check_every: float = 1.0,
        probe_every: float = PROBE_EVERY,
        lost: Callable[[list[Task]], None] = lambda tasks: None,
    ) -> None:
        self._client = client
        self._check_every = min(check_every, probe_every)
        self._probe_every = probe_every
        self._lost = lost
        self._held: dict[str, tuple[Task, float]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="leases", daemon=True)
        self.extended = 0
        self.lost = 0

    def start(self) -> None:
        """Begin checking in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop checking."""
        self._stop.set()
        self._thread.join(timeout=5)

    def hold(self, tasks: Iterable[Task]) -> None:
        """Remember freshly claimed tasks."""
        with self._lock:
            for task in tasks:
                self._held[task.reply_subject] = (task, task.claimed_at)

    def release(self, tasks: Iterable[Task]) -> None:
        """Forget tasks whose results were posted."""
        with self._lock:
            for task in tasks:
                self._held.pop(task.reply_subject, None)

    @property
    def count(self) -> int:
        """Tasks held now."""
        with self._lock:
            return len(self._held)

    def due(self, now: float) -> dict[int, list[Task]]:
        """Held tasks past half their current lease, grouped by lease length."""
        groups: dict[int, list[Task]] = {}
        with self._lock:
            for task, since in self._held.values():
                if task.lease_seconds and now - since > task.lease_seconds / 2:
                    groups.setdefault(task.lease_seconds, []).append(task)
        return groups

    def held(self) -> dict[int, list[Task]]:
        """Every task held, grouped by lease length (tasks of unknown lease left out)."""
        groups: dict[int, list[Task]] = {}
        with self._lock:
            for task, _ in self._held.values():
                if task.lease_seconds:
                    groups.setdefault(task.lease_seconds, []).append(task)
        return groups

    def _loop(self) -> None:
        probed = time.monotonic()
        while not self._stop.wait(self._check_every):
            if not self._client.has_extend:
                return
            now = time.monotonic()
            if now - probed >= self._probe_every:
                probed, groups = now, self.held()
            else:
                groups = self.due(now)
            for seconds, tasks in groups.items():
                self._extend(seconds, tasks)

    def _extend(self, seconds: int, tasks: list[Task]) -> None:
        now = time.monotonic()
        try:
            lost = set(self._client.extend([t.reply_subject for t in tasks], seconds))
        except (ApiError, Stopped) as exc:
            log.warning("could not extend %d leases: %s", len(tasks), exc)
            return
        gone = []
        with self._lock:
            for task in tasks:
                if task.reply_subject in lost:
                    if self._held.pop(task.reply_subject, None) is not None:
                        gone.append(task)
                elif task.reply_subject in self._held:
                    self._held[task.reply_subject] = (task, now)
        self.extended += len(tasks) - len(lost)
        self.lost += len(gone)
        if gone:
            self._lost(gone)
