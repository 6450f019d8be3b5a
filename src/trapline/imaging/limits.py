"""How much memory decoding may take: a byte budget per image and a cap on decodes at once.

A few hundred KB of PNG can hold a flat 9,400 x 9,400 RGBA picture, 353 MB once decoded. The
budget is checked from the file's header, before any pixel is decoded; the cap is one set of
slots shared by every decode of the process (uploads and thumbnails made on demand), so a
request of many such files, or many requests at once, hold at most ``concurrent x max_bytes``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from trapline.errors import Unavailable
from trapline.settings import DEFAULT_MAX_CONCURRENT_DECODES, DEFAULT_MAX_DECODE_BYTES

#: Seconds a decode waits for a free slot before the request is answered 503.
SLOT_WAIT_SECONDS = 120.0


@dataclass(frozen=True)
class DecodeLimits:
    """The memory bounds of decoding, from the settings of the process."""

    #: Most bytes the decoder and the decoded pixels of one image may take.
    max_bytes: int = DEFAULT_MAX_DECODE_BYTES
    #: Decodes run at once in this process; more wait for a slot.
    concurrent: int = DEFAULT_MAX_CONCURRENT_DECODES

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one of the process's decode slots for the block."""
        slots = _slots(self.concurrent)
        if not slots.acquire(timeout=SLOT_WAIT_SECONDS):
            raise Unavailable(
                "the server is busy decoding other images; retry in a moment",
                retry_after=5,
                code="busy",
            )
        try:
            yield
        finally:
            slots.release()


_registry_lock = threading.Lock()
_registry: dict[int, threading.BoundedSemaphore] = {}


def _slots(count: int) -> threading.BoundedSemaphore:
    # One semaphore per size, made once: every app of the process with the same setting
    # shares it (a process normally has one app; the tests make many).
    with _registry_lock:
        slots = _registry.get(count)
        if slots is None:
            slots = _registry[count] = threading.BoundedSemaphore(count)
        return slots
