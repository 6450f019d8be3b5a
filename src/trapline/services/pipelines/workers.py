"""Keeping track of worker processes from the ``client_info`` they send."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from trapline.clock import Clock, SystemClock
from trapline.db.engine import Database
from trapline.db.repositories import Repos
from trapline.db.types import utcnow
from trapline.domain.core.records import User
from trapline.domain.core.roles import Role
from trapline.domain.pipelines.pipelines import ONLINE_WINDOW
from trapline.protocol.pipelines import ClientInfo

#: A worker's row is rewritten at most this often (seconds); every call still counts as seen.
TOUCH_INTERVAL = 15.0
#: Seconds a worker counts as serving its pipelines after its last call: the online window.
SERVING_WINDOW = ONLINE_WINDOW.total_seconds()


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


def reach(repos: Repos, user: User) -> list[int] | None:
    """The projects whose jobs a worker with this account's token may serve; None: every one
    (an admin's)."""
    if user.is_admin:
        return None
    return repos.core.projects.ids_for(
        user.id, at_least=Role.VIEWER if user.is_service else Role.MEMBER
    )


@dataclass(frozen=True)
class Coverage:
    """Where workers that are no fallback serve pipelines: a job there is left to them."""

    #: Pipelines served for every project (by an admin's worker).
    everywhere: frozenset[str] = frozenset()
    #: The projects each other pipeline is served for.
    projects: dict[str, frozenset[int]] = field(default_factory=dict)

    def covers(self, pipeline: str, project_id: int) -> bool:
        """Whether such a worker serves this pipeline for this project."""
        return pipeline in self.everywhere or project_id in self.projects.get(pipeline, ())


class WorkerTracker:
    """Writes worker sightings to the database, throttled per worker, and remembers which
    workers that are no fallback served which pipelines lately."""

    def __init__(self, db: Database, clock: Clock | None = None) -> None:
        self.db = db
        self.clock = clock or SystemClock()
        self._last: dict[tuple[int, str], float] = {}
        #: Workers that are no fallback, by (account, identity): last call and pipelines. In
        #: memory: the one fallback worker, ``trapline up``'s, shares its process with the
        #: server every worker calls.
        self._serving: dict[tuple[int, str], tuple[float, frozenset[str]]] = {}
        self._lock = threading.Lock()

    def seen(
        self,
        caller: User,
        info: ClientInfo | None,
        pipelines: Sequence[str],
        project_ids: Sequence[int] | None,
    ) -> WorkerIdentity:
        """Record a protocol call by a worker serving these projects (None: every project,
        an admin's worker); returns its identity."""
        identity = identity_of(caller, info)
        key = (caller.id, identity.name)
        now = self.clock.monotonic()
        offered = list(pipelines) + list((info.pipelines if info else None) or [])
        with self._lock:
            if not (info is not None and info.fallback) and offered:
                self._serving[key] = (now, frozenset(offered))
                if len(self._serving) > 10_000:  # forget long-gone workers
                    cutoff = now - SERVING_WINDOW
                    self._serving = {k: v for k, v in self._serving.items() if v[0] >= cutoff}
            if now - self._last.get(key, -TOUCH_INTERVAL) < TOUCH_INTERVAL:
                return identity
            self._last[key] = now
            if len(self._last) > 10_000:  # forget long-gone workers
                cutoff = now - 10 * TOUCH_INTERVAL
                self._last = {k: v for k, v in self._last.items() if v >= cutoff}
        with self.db.write() as repos:
            now_at = utcnow()
            service_id = (
                repos.pipelines.pipelines.serving(offered, project_ids, now_at) if offered else None
            )
            repos.pipelines.workers.touch(
                caller.id,
                identity.name,
                hostname=info.hostname if info else None,
                software=info.software if info else None,
                version=info.version if info else None,
                pid=info.pid if info else None,
                pipelines=offered,
                service_id=service_id,
                now=now_at,
            )
        return identity

    def coverage(self, repos: Repos) -> Coverage:
        """Where the workers that are no fallback and called within ``SERVING_WINDOW`` serve
        their pipelines, as far as their accounts reach."""
        cutoff = self.clock.monotonic() - SERVING_WINDOW
        with self._lock:
            served: dict[int, set[str]] = {}
            for (user_id, _), (when, offered) in self._serving.items():
                if when >= cutoff:
                    served.setdefault(user_id, set()).update(offered)
        everywhere: set[str] = set()
        projects: dict[str, set[int]] = {}
        for user_id, slugs in served.items():
            user = repos.core.users.get(user_id)
            if user is None or not user.is_active:
                continue
            reached = reach(repos, user)
            if reached is None:
                everywhere |= slugs
                continue
            for slug in slugs:
                projects.setdefault(slug, set()).update(reached)
        return Coverage(
            frozenset(everywhere), {slug: frozenset(ids) for slug, ids in projects.items()}
        )
