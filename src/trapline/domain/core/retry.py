"""A retry policy: how often a thing is tried and how long it waits between tries (tasks,
calls to a processing service, tracking an event)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class RetryPolicy:
    """How often a task is tried and how long it waits between tries."""

    max_attempts: int = 3
    base_delay: float = 5.0
    max_delay: float = 300.0

    def delay(self, attempt: int) -> timedelta:
        """Backoff before the try after ``attempt`` (1-based): doubling, capped."""
        return timedelta(seconds=min(self.base_delay * 2 ** max(attempt - 1, 0), self.max_delay))
