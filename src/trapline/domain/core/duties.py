"""A piece of periodic background work, as a service or a backend declares it.

``background/duties.py`` runs them, each on one replica at a time, under a lease. A run is
handed a ``Stop``, set once the lease is lost (another replica may run the duty from then
on): work that loops over many things checks it between them and ends early.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol


class Stop(Protocol):
    """Whether the work should end now (a ``threading.Event`` is one)."""

    def is_set(self) -> bool:
        """True once the work should end at its next step."""
        ...


class _Never:
    def is_set(self) -> bool:
        return False


#: The stop of work run outside a duty (a test, an admin command): it never ends early.
NEVER: Stop = _Never()


@dataclass(frozen=True)
class Duty:
    """A periodic piece of background work."""

    name: str
    #: Seconds between runs.
    interval: float
    #: One run; it ends early, at its next step, when the ``Stop`` it is handed is set.
    run: Callable[[Stop], object]
