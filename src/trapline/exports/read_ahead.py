"""An export's batches read ahead on a thread while the writer formats the one before.

Only on PostgreSQL, whose server runs the statements on another core while the writer
works. SQLite runs them in this process and lets go of the GIL for every row it steps; with
the writer busy, each row then waited for the writer's turn to end, so reading ahead made an
export slower, not faster (decision 059).
"""

from __future__ import annotations

import contextlib
import queue
import threading
from collections.abc import Iterator

from trapline.domain.exports.facts import Batch


def prefetched(batches: Iterator[Batch], depth: int = 2) -> Iterator[Batch]:
    """The same batches, read ahead on a thread: the database reads the next batch while the
    writer formats this one (SQLite and psycopg let go of the GIL while they wait)."""
    ahead: queue.Queue[Batch | BaseException | None] = queue.Queue(depth)
    stop = threading.Event()

    def read() -> None:
        try:
            for batch in batches:
                while not stop.is_set():
                    try:
                        ahead.put(batch, timeout=0.5)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ahead.put(None)
        except BaseException as exc:  # handed to the consumer, which raises it
            ahead.put(exc)

    reader = threading.Thread(target=read, name="export-read", daemon=True)
    reader.start()
    try:
        while (item := ahead.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while reader.is_alive():  # let a blocked put go through
            with contextlib.suppress(queue.Empty):
                ahead.get(timeout=0.1)
        reader.join()
