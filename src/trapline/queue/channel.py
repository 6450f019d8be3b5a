"""What a queue with a dispatch channel of its own (JetStream) offers the reconciler.

The database is the record of truth; the channel only carries one message per queued task and
can lose some (a crash, a wiped store) or give up on some (too many deliveries). The
reconciler (``queue/reconciler.py``) compares the two and repairs the channel.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class StuckMessage:
    """A task message the channel stopped delivering (it reached its most deliveries)."""

    #: Where the message sits in the channel, to remove it.
    sequence: int
    job_id: int
    task_id: int
    #: The try of the task it offered.
    attempt: int


@runtime_checkable
class DispatchChannel(Protocol):
    """The repair operations of a queue's dispatch channel."""

    def held_count(self, job_id: int) -> int:
        """How many task messages of the job the channel holds (cheap; may count stale ones)."""
        ...

    def held_tasks(self, job_id: int) -> set[int]:
        """Ids of the tasks of the job the channel holds a message for."""
        ...

    def publish(self, job_id: int, tasks: Sequence[tuple[int, int]]) -> int:
        """Offer these (task id, attempt) of the job; idempotent. Returns how many were new."""
        ...

    def stuck(self, limit: int) -> list[StuckMessage]:
        """Up to ``limit`` messages the channel gave up delivering, not yet resolved."""
        ...

    def resolve(self, stuck: Sequence[StuckMessage], republish: Sequence[StuckMessage]) -> None:
        """Remove the ``stuck`` messages, offering the tries in ``republish`` afresh."""
        ...

    def channel_jobs(self) -> set[int]:
        """Jobs the channel keeps a consumer for."""
        ...

    def finished(self, job_id: int) -> None:
        """Drop everything the channel keeps for the job."""
        ...
