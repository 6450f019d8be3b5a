"""Status checks of push-mode processing services: is each one ready to take work?

A duty calls every push-mode service's ``/readyz`` each ``status_interval`` seconds and records
the outcome. A service is online while its last check succeeded within ``online_window``; the
push dispatcher sends work only to online services.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from trapline.clock import Clock
from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.pipelines.pipelines import ONLINE_WINDOW
from trapline.services.pipelines.service_client import ServiceClient

log = logging.getLogger(__name__)

#: Services checked at once.
PARALLEL_CHECKS = 8


def online_window(status_interval: float) -> timedelta:
    """How recent a push-mode service's last good check must be for it to count as online.

    Three intervals, so one slow or lost check does not take a service offline.
    """
    return max(ONLINE_WINDOW, timedelta(seconds=3 * status_interval))


def check_services(db: Database, client: ServiceClient, clock: Clock) -> int:
    """Check every push-mode service's readiness and record it (at ``clock``'s time); returns
    how many were checked."""
    with db.read() as repos:
        targets = repos.pipelines.pipelines.push_endpoints()
    if not targets:
        return 0
    with ThreadPoolExecutor(min(PARALLEL_CHECKS, len(targets))) as pool:
        errors = list(pool.map(lambda t: client.readiness_error(t[1], trusted=t[2]), targets))
    now = clock.now()
    with db.write() as repos:
        for (service_id, *_), error in zip(targets, errors, strict=True):
            repos.pipelines.pipelines.record_check(service_id, now, error)
    for (service_id, url, _), error in zip(targets, errors, strict=True):
        if error is not None:
            log.info("processing service %s at %s is not ready: %s", service_id, url, error)
    return len(targets)


def check_service(
    db: Database, client: ServiceClient, service_id: int, url: str, *, trusted: bool
) -> str | None:
    """Check one push-mode service now and record it; returns why it is not ready, if not."""
    error = client.readiness_error(url, trusted=trusted)
    record_check(db, service_id, error, utcnow())
    return error


def record_check(db: Database, service_id: int, error: str | None, now: datetime) -> None:
    """Record how a push-mode service answered ``now``; with an ``error`` it is offline."""
    with db.write() as repos:
        repos.pipelines.pipelines.record_check(service_id, now, error)
