"""Keeping the worker within memory: a byte budget for images in hand and an RSS check."""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
import threading
import time
from collections.abc import Callable

import psutil

log = logging.getLogger(__name__)

# glibc mallopt parameters
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8

#: Bytes of images in hand when no ``--max-memory`` is given.
DEFAULT_BUDGET = 512 * 1024 * 1024
#: Share of the headroom under ``--max-memory`` that images in hand may take; the rest is for
#: the pipeline's own working memory and the allocator's slack.
BUDGET_SHARE = 0.4
#: Smallest budget, so one large photo can always be in hand.
MIN_BUDGET = 64 * 1024 * 1024


def tune_allocator() -> None:
    """Make glibc give freed image buffers back to the system (Linux only; else no effect).

    By default glibc raises its mmap threshold after large blocks are freed, so later
    photo-sized buffers come from heaps that never shrink, and each download thread gets an
    arena of its own: resident memory then grows far beyond what is in use.
    """
    if not sys.platform.startswith("linux"):
        return
    name = ctypes.util.find_library("c")
    if name is None:
        return
    try:
        libc = ctypes.CDLL(name)
        libc.mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
        libc.mallopt(_M_ARENA_MAX, 2)
    except (OSError, AttributeError) as exc:  # not glibc (musl has no mallopt)
        log.debug("allocator left as it is: %s", exc)


class ByteBudget:
    """Bytes of images the worker holds (downloading, decoded, being processed).

    ``reserve`` blocks while the budget is spent, except that one reservation always passes
    when nothing is held, so a single image larger than the budget still gets processed.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self._changed = threading.Condition()

    def reserve(self, size: int, stop: Callable[[], bool]) -> bool:
        """Take ``size`` bytes, waiting for room; ``False`` if ``stop`` turned true first."""
        with self._changed:
            while self.used > 0 and self.used + size > self.limit:
                if stop():
                    return False
                self._changed.wait(0.2)
            self.used += size
            return True

    def adjust(self, reserved: int, actual: int) -> None:
        """Replace a reservation by what the image really takes."""
        with self._changed:
            self.used += actual - reserved
            self._changed.notify_all()

    def release(self, size: int) -> None:
        """Give back ``size`` bytes."""
        self.adjust(size, 0)


class MemoryGuard:
    """Says whether the process may take on more work under ``--max-memory``."""

    def __init__(self, max_memory: int | None) -> None:
        self.max_memory = max_memory
        self._process = psutil.Process()
        self._checked = 0.0
        self._rss = self.rss()
        self.baseline = self._rss

    def rss(self) -> int:
        """Resident memory of this process now, in bytes."""
        return int(self._process.memory_info().rss)

    def budget(self) -> int:
        """Bytes of images to hold at once: a share of the headroom under the limit."""
        if self.max_memory is None:
            return DEFAULT_BUDGET
        return max(MIN_BUDGET, int((self.max_memory - self.baseline) * BUDGET_SHARE))

    def room(self) -> bool:
        """``True`` unless resident memory is near the limit (checked at most every 0.2 s)."""
        if self.max_memory is None:
            return True
        now = time.monotonic()
        if now - self._checked > 0.2:
            self._rss, self._checked = self.rss(), now
        return self._rss < self.max_memory * 0.9
