"""Task queues, chosen by ``TRAPLINE_QUEUE_URL``: ``sql`` (default) or ``nats://host:4222``."""

from __future__ import annotations

from collections.abc import Callable

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.errors import InvalidInput, MissingDependency
from trapline.queue.base import TaskQueue


def _open_sql(_url: str, db: Database, clock: Clock | None) -> TaskQueue:
    from trapline.queue.sql import SqlTaskQueue

    return SqlTaskQueue(db, clock)


def _open_nats(url: str, db: Database, clock: Clock | None) -> TaskQueue:
    try:
        from trapline.queue.nats import JetStreamTaskQueue
    except ImportError as exc:
        if (exc.name or "").split(".")[0] != "nats":
            raise
        raise MissingDependency(
            "TRAPLINE_QUEUE_URL names NATS but nats-py is not installed; "
            "install it with: pip install 'trapline[nats]'"
        ) from exc
    return JetStreamTaskQueue.from_url(url, db, clock)


#: Queue backends by URL scheme.
QUEUES: dict[str, Callable[[str, Database, Clock | None], TaskQueue]] = {
    "sql": _open_sql,
    "nats": _open_nats,
}


def open_task_queue(url: str, db: Database, clock: Clock | None = None) -> TaskQueue:
    """The queue ``url`` names, over ``db``, timing its leases by ``clock`` (the system's by
    default)."""
    scheme = url.split("://", 1)[0] if "://" in url else url
    opener = QUEUES.get(scheme)
    if opener is None:
        known = ", ".join(sorted(QUEUES))
        raise InvalidInput(f"unsupported queue URL {url!r}; use one of: {known}")
    return opener(url, db, clock)


__all__ = ["QUEUES", "TaskQueue", "open_task_queue"]
