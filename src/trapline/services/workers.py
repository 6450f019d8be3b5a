"""Keeping track of worker processes from the ``client_info`` they send."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.domain.records import User
from trapline.protocol.pipelines import ClientInfo

#: A worker's row is rewritten at most this often (seconds); every call still counts as seen.
TOUCH_INTERVAL = 15.0


@dataclass(frozen=True)
class WorkerIdentity:
    """Who holds a lease, as written on tasks and in logs."""

    name: str


def identity_of(caller: User, info: ClientInfo | None) -> WorkerIdentity:
    """A stable name for one worker process: ``hostname:pid`` when it says, else the account."""
    if info is not None and (info.hostname or info.name):
        parts = [info.name or info.hostname or ""]
        if info.pid is not None:
            parts.append(str(info.pid))
        return WorkerIdentity(":".join(parts)[:255])
    return WorkerIdentity(f"user-{caller.id}")


class WorkerTracker:
    """Writes worker sightings to the database, throttled per worker."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._last: dict[tuple[int, str], float] = {}
        self._lock = threading.Lock()

    def seen(
        self,
        caller: User,
        info: ClientInfo | None,
        pipelines: Sequence[str],
        project_ids: Sequence[int],
    ) -> WorkerIdentity:
        """Record a protocol call by a worker; returns its identity."""
        identity = identity_of(caller, info)
        key = (caller.id, identity.name)
        now = time.monotonic()
        with self._lock:
            if now - self._last.get(key, -TOUCH_INTERVAL) < TOUCH_INTERVAL:
                return identity
            self._last[key] = now
            if len(self._last) > 10_000:  # forget long-gone workers
                cutoff = now - 10 * TOUCH_INTERVAL
                self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        offered = list(pipelines) + list((info.pipelines if info else None) or [])
        with self.db.write() as repos:
            service_id = (
                repos.pipelines.service_for_pipelines(offered, project_ids) if offered else None
            )
            repos.workers.touch(
                caller.id,
                identity.name,
                hostname=info.hostname if info else None,
                software=info.software if info else None,
                version=info.version if info else None,
                pid=info.pid if info else None,
                pipelines=offered,
                service_id=service_id,
                now=utcnow(),
            )
        return identity
