"""Keeping leases alive: tasks still in hand past half their lease are extended."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable

from trapline.worker.client import ApiError, PlatformClient, Stopped, Task

log = logging.getLogger(__name__)


class LeaseKeeper:
    """Tracks the tasks this worker holds and extends their leases from a background thread.

    A task is held from its claim until its result is posted. Platforms that don't say how
    long a lease lasts (Antenna) or lack the extend call are left alone.
    """

    def __init__(self, client: PlatformClient, *, check_every: float = 1.0) -> None:
        self._client = client
        self._check_every = check_every
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

    def _loop(self) -> None:
        while not self._stop.wait(self._check_every):
            if not self._client.has_extend:
                return
            for seconds, tasks in self.due(time.monotonic()).items():
                self._extend(seconds, tasks)

    def _extend(self, seconds: int, tasks: list[Task]) -> None:
        now = time.monotonic()
        try:
            lost = set(self._client.extend([t.reply_subject for t in tasks], seconds))
        except (ApiError, Stopped) as exc:
            log.warning("could not extend %d leases: %s", len(tasks), exc)
            return
        with self._lock:
            for task in tasks:
                if task.reply_subject in lost:
                    self._held.pop(task.reply_subject, None)
                elif task.reply_subject in self._held:
                    self._held[task.reply_subject] = (task, now)
        self.extended += len(tasks) - len(lost)
        self.lost += len(lost)
        if lost:
            log.warning("%d leases were lost before their results were ready", len(lost))
