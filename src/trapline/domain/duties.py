"""A piece of periodic background work, as a service or a backend declares it.

``background/duties.py`` runs them, each on one replica at a time; a task queue declares the
ones it needs through ``TaskQueue.background_duties``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Duty:
    """A periodic piece of background work."""

    name: str
    #: Seconds between runs.
    interval: float
    run: Callable[[], object]
