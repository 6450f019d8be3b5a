"""The ``occurrences`` duty: tracking the events that are due, one event's failure its own.

Which events are due, and when one whose tracking did not finish is tried again, is decided
here; what tracking one event does is ``occurrences.track_event``.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.core.duties import NEVER, Stop
from trapline.domain.core.retry import RetryPolicy
from trapline.errors import TraplineError, failure_text
from trapline.imaging.limits import DecodeLimits
from trapline.imaging.probe import DEFAULT_LIMITS
from trapline.services.ecology.occurrences import track_event
from trapline.storage.base import BlobStore

log = logging.getLogger(__name__)

#: Seconds between runs of the duty that tracks the events that are due.
TRACKING_INTERVAL = 5.0
#: Events tracked in one run of the duty (the next run takes the rest).
EVENTS_PER_RUN = 20
#: How long a queued task of an event's photos holds back its tracking: longer than a worker
#: polling for work takes to claim it, short enough that a job no worker can run (its
#: pipeline served by none) does not freeze the counts of photos other results are in.
QUEUED_TASKS_HOLD = timedelta(minutes=10)
#: How soon an event whose tracking did not finish is tried again: a minute, doubling with
#: each try that does not finish, at most an hour (the event keeps its earlier occurrences).
TRACKING_RETRY = RetryPolicy(base_delay=60.0, max_delay=3600.0)


def track_due(
    db: Database,
    store: BlobStore,
    *,
    limit: int = EVENTS_PER_RUN,
    limits: DecodeLimits = DEFAULT_LIMITS,
    now: datetime | None = None,
    stop: Stop = NEVER,
) -> int:
    """Track up to ``limit`` events that are due, until ``stop`` is set; how many were
    tracked. An event waits while a worker holds a task of its photos, or a task of them was
    queued less than ``QUEUED_TASKS_HOLD`` before ``now``: a task no worker takes by then (no
    worker serves its pipeline) no longer holds its photos' counts back.

    One event's failure is its own: it is recorded on the event (``tracking_error``), the
    event waits out a backoff (``TRACKING_RETRY``) and the others are tracked meanwhile. The
    backoff is written before each tracking begins, so an event whose tracking killed the
    server is not taken again at once when it restarts."""
    now = now or utcnow()
    with db.read() as repos:
        due = repos.ecology.tracking.due(limit, now - QUEUED_TASKS_HOLD, now)
    tracked = 0
    for event_id, version in due:
        if stop.is_set():
            break
        with db.write() as repos:
            repos.ecology.tracking.begin(event_id, now, TRACKING_RETRY)
        try:
            track_event(db, store, event_id, version, limits=limits)
        except Exception as exc:
            _tracking_failed(db, event_id, exc)
            continue
        tracked += 1
    return tracked


def _tracking_failed(db: Database, event_id: int, exc: Exception) -> None:
    """Record on the event why its tracking failed (the backoff is already set)."""
    if isinstance(exc, TraplineError):
        log.warning("tracking event %s failed: %s", event_id, exc.detail)
    else:
        log.error("tracking event %s failed", event_id, exc_info=exc)
    try:
        with db.write() as repos:
            repos.ecology.tracking.failed(event_id, failure_text(exc))
    except TraplineError as again:
        log.warning("could not record that tracking event %s failed: %s", event_id, again.detail)
