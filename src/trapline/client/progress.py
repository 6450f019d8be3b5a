"""A one-line progress bar on a terminal (stderr), and nothing at all elsewhere."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

#: Seconds between two redraws of the bar.
REDRAW_EVERY = 0.2
_WIDTH = 30


class Progress:
    """``done`` of ``total`` things, redrawn in place; thread-safe ``advance``.

    On something other than a terminal (a log file, a notebook's captured stderr) it stays
    quiet until ``close``, which writes the final line once.
    """

    def __init__(self, total: int, label: str, *, stream: TextIO | None = None) -> None:
        self.total = total
        self.label = label
        self.done = 0
        self.note = ""
        self._stream = stream or sys.stderr
        self._live = bool(getattr(self._stream, "isatty", lambda: False)())
        self._lock = threading.Lock()
        self._drawn = 0.0
        self._started = time.monotonic()

    def advance(self, count: int = 1, note: str = "") -> None:
        """``count`` more are done (``note``: a few words shown after the count)."""
        with self._lock:
            self.done += count
            self.note = note or self.note
            now = time.monotonic()
            if self._live and (now - self._drawn >= REDRAW_EVERY or self.done >= self.total):
                self._drawn = now
                self._stream.write("\r" + self.line())
                self._stream.flush()

    def set_total(self, total: int) -> None:
        """Change the total (a job's task count becomes known after it starts)."""
        with self._lock:
            self.total = total

    def line(self) -> str:
        """The bar as text."""
        total = max(self.total, 1)
        filled = min(_WIDTH, _WIDTH * self.done // total)
        elapsed = time.monotonic() - self._started
        bar = "#" * filled + "-" * (_WIDTH - filled)
        note = f"  {self.note}" if self.note else ""
        return f"{self.label} [{bar}] {self.done}/{self.total} ({elapsed:.0f} s){note}"

    def close(self) -> None:
        """Write the final state and end the line."""
        self._stream.write(("\r" if self._live else "") + self.line() + "\n")
        self._stream.flush()
