"""Process-wide tuning, in one place: applied once by ``trapline serve``, ``trapline up`` and
``trapline export``.

Each knob changes the whole Python process, so nothing here runs at import, in tests or in a
worker process; each is behind a setting (docs/deploy.md, "Process-wide tuning"). Under
``trapline up`` the embedded worker shares the process and so shares the tuning. The event
loop is chosen where uvicorn is configured (``Server.for_app``, ``event_loop``).
"""

from __future__ import annotations

import gc
import os
import sys

from trapline.settings import ServerSettings


def apply(settings: ServerSettings) -> None:
    """Tune the process for serving; call once, after the app is built and before it serves."""
    set_pillow_block_size(settings.pillow_block_bytes)
    # A request thread whose database answer has arrived waits for the GIL until the thread
    # holding it is made to let go: after 5 ms by default, and a result post waits on a dozen
    # answers. At 1 ms, posts that arrive together no longer wait out each other's Python
    # (the 32-worker p99 of result posts went from ~95 to ~75 ms; throughput unchanged).
    sys.setswitchinterval(settings.switch_interval)
    if settings.gc_freeze:
        # What exists now (modules, the app, its routes and schemas: ~160,000 objects) lives
        # as long as the process. Frozen, the collector skips it: a full collection took
        # ~90 ms, holding every request up meanwhile; it now walks only what requests leave.
        gc.collect()
        gc.freeze()


def set_pillow_block_size(block_bytes: int) -> None:
    """Have Pillow allocate pixels in pieces of ``block_bytes`` (0: leave Pillow's own).

    glibc's malloc gives back to the system only allocations above its mmap threshold, which
    rises with use up to 32 MiB: Pillow's default 16 MiB pieces end up below it, in the arena
    of whichever upload thread decoded them, and stay in the process after the image is gone
    (four 124 MiB decodes one after another left a process 420 MB larger). Pieces of 64 MiB
    are always mapped and unmapped. PILLOW_BLOCK_SIZE, Pillow's own knob, wins when set.
    """
    if not block_bytes or "PILLOW_BLOCK_SIZE" in os.environ:
        return
    from PIL import Image

    # Pillow's stubs do not re-export its C core.
    Image.core.set_block_size(block_bytes)  # type: ignore[attr-defined]
