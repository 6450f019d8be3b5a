"""The runner: a small bounded pool of threads for background work on ids.

Each item is submitted at most once while it waits or runs (a second ``submit`` of the same
key is refused), so a duty that finds the same export or source on every pass never queues it
twice. ``close`` stops taking work, hands back what has not started (``hand_back``, so that
another server takes it), sets ``closing`` (work under way checks it and ends early, handing
its own lease back) and waits for what is running.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


def _itself(item: Hashable) -> Hashable:
    return item


class Runner(Generic[T]):
    """Runs ``work(item)`` on at most ``workers`` threads, each key once while pending or
    running."""

    def __init__(
        self,
        work: Callable[[T], None],
        *,
        workers: int,
        name: str,
        key: Callable[[T], Hashable] = _itself,
        hand_back: Callable[[T], None] | None = None,
    ) -> None:
        self.work = work
        self.workers = max(1, workers)
        self.name = name
        self.key = key
        self.hand_back = hand_back
        #: Set by ``close``: work under way checks it and stops at its next step.
        self.closing = threading.Event()
        self._changed = threading.Condition()
        self._pending: deque[T] = deque()
        self._keys: set[Hashable] = set()
        self._threads: list[threading.Thread] = []
        self._idle = 0

    @property
    def active(self) -> int:
        """Items waiting or running."""
        with self._changed:
            return len(self._keys)

    def submit(self, item: T) -> bool:
        """Run the item soon; False when it is waiting or running already, or when closing."""
        key = self.key(item)
        with self._changed:
            if self.closing.is_set() or key in self._keys:
                return False
            self._keys.add(key)
            self._pending.append(item)
            if self._idle == 0 and len(self._threads) < self.workers:
                thread = threading.Thread(
                    target=self._serve, name=f"{self.name}-{len(self._threads)}", daemon=True
                )
                self._threads.append(thread)
                thread.start()
            self._changed.notify()
        return True

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing waits or runs (work submitted meanwhile is waited for too); False
        when ``timeout`` seconds passed first."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._keys, timeout)

    def close(self, timeout: float | None = None) -> list[T]:
        """Stop: hand back what has not started, then wait (at most ``timeout`` seconds, or
        until it ends) for the work under way; returns what was handed back."""
        with self._changed:
            self.closing.set()
            left = list(self._pending)
            self._pending.clear()
            for item in left:
                self._keys.discard(self.key(item))
            threads = list(self._threads)
            self._changed.notify_all()
        if self.hand_back is not None:
            for item in left:
                try:
                    self.hand_back(item)
                except Exception:
                    log.exception("%s: could not hand %r back", self.name, item)
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in threads:
            if thread is threading.current_thread():
                continue
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        return left

    def _serve(self) -> None:
        while True:
            with self._changed:
                self._idle += 1
                while not self._pending and not self.closing.is_set():
                    self._changed.wait()
                self._idle -= 1
                if not self._pending:
                    return
                item = self._pending.popleft()
            try:
                self.work(item)
            except Exception:
                log.exception("%s: work on %r failed", self.name, item)
            finally:
                with self._changed:
                    self._keys.discard(self.key(item))
                    self._changed.notify_all()
