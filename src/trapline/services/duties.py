"""Background duties of a server: each runs on one replica at a time, guarded by a lease."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta

from trapline.db.engine import Database
from trapline.db.types import utcnow
from trapline.duty import Duty as Duty  # the duties' type, for those who build the list
from trapline.errors import TraplineError, Unavailable
from trapline.queue.base import TaskQueue
from trapline.services.jobs import finish_if_done, record_start_failure, start_job
from trapline.services.push import PushDispatcher
from trapline.services.service_client import ServiceClient
from trapline.services.service_status import check_services
from trapline.settings import Settings

log = logging.getLogger(__name__)

#: Jobs left in created/queued this long (a server died mid-enqueue) are started again.
STUCK_JOB_AGE = timedelta(seconds=30)
#: Shortest lease on a duty (a duty's lease is three of its intervals, or this).
MIN_LEASE_SECONDS = 15.0
#: Seconds a stopping server waits for a duty's run to end.
STOP_WAIT = 5.0
#: Failed tries to start a job (a backend unavailable meanwhile) before the job fails; the
#: recovery duty tries again every ten seconds or so.
MAX_START_TRIES = 10


def server_identity() -> str:
    """A name for this server process, unique across replicas and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class JobStarter:
    """Starts jobs in the background so creating one answers at once, whatever its size."""

    def __init__(self, db: Database, queue: TaskQueue, max_tries: int = MAX_START_TRIES) -> None:
        self.db = db
        self.queue = queue
        self.max_tries = max_tries
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="job-start")

    def submit(self, job_id: int) -> None:
        """Enqueue and open the job to workers, soon."""
        self._pool.submit(self.start, job_id)

    def start(self, job_id: int) -> None:
        """Enqueue and open the job to workers now; a job that cannot start fails, saying why.

        A backend that is unavailable gets ``max_tries`` chances (the recovery duty tries
        again); any other error fails the job at once, as trying again would fail again.
        """
        try:
            start_job(self.db, self.queue, job_id)
            return
        except TraplineError as exc:
            reason, retry = exc.detail, isinstance(exc, Unavailable)
            log.warning("starting job %s failed: %s", job_id, reason)
        except Exception as exc:
            reason, retry = f"internal error ({type(exc).__name__})", False
            log.exception("starting job %s failed", job_id)
        try:
            record_start_failure(
                self.db, self.queue, job_id, reason, retry=retry, max_tries=self.max_tries
            )
        except TraplineError as exc:  # the database is away too: the recovery duty tries again
            log.warning("could not record that job %s failed to start: %s", job_id, exc.detail)

    def close(self) -> None:
        """Stop taking work; jobs not started yet are picked up by the recovery duty."""
        self._pool.shutdown(wait=True, cancel_futures=True)


#: Seconds between runs of the duty that fails stuck callback analyses.
STUCK_ANALYSIS_INTERVAL = 60.0
#: Reason a stuck callback analysis is failed with.
STUCK_REASON = "no word from the pipeline for {seconds:g} s while queued or processing; failed"


def fail_stuck_analyses(db: Database, settings: Settings) -> None:
    """Fail callback analyses left queued or processing too long; forget old signatures."""
    now = utcnow()
    seconds = settings.ml_stuck_analysis_seconds
    reason = STUCK_REASON.format(seconds=seconds)
    with db.write() as repos:
        failed = repos.analyses.fail_stale(now - timedelta(seconds=seconds), reason, now)
        repos.callbacks.forget_signatures(now)
    if failed:
        log.warning("failed %d stuck callback analyses: %s", len(failed), failed[:20])


def reap_expired_leases(db: Database, queue: TaskQueue) -> None:
    """Requeue tasks whose lease ran out (dead-letter those out of tries); end finished jobs."""
    requeued, dead, jobs = queue.reap()
    if requeued or dead:
        log.info("lease reaper: %d tasks requeued, %d dead-lettered", requeued, dead)
    with db.read() as repos:
        # A safety net: a job whose last task settled without ending it is ended here.
        jobs |= set(repos.jobs.running_without_open_tasks())
    for job_id in jobs:
        with db.write() as repos:
            finished = finish_if_done(repos, job_id)
        if finished:
            queue.finished(job_id)


def restart_stuck_jobs(db: Database, starter: JobStarter) -> None:
    """Start jobs a crashed server left half-started."""
    with db.read() as repos:
        stuck = repos.jobs.pending_dispatch(utcnow() - STUCK_JOB_AGE)
    for job_id in stuck:
        log.info("restarting job %s left half-started", job_id)
        starter.submit(job_id)


def check_push_services(db: Database, client: ServiceClient) -> None:
    """Call every push-mode service's ``/readyz`` and record whether it is online."""
    checked = check_services(db, client)
    log.debug("status checks: %d push-mode services", checked)


def dispatch_push_tasks(dispatcher: PushDispatcher) -> None:
    """Send tasks of running push-mode jobs to their services, as slots free up."""
    sent = dispatcher.run()
    if sent:
        log.debug("push dispatcher: %d batches sent", sent)


class DutyRunner:
    """Runs duties on a thread; before each run it takes (or renews) the duty's lease."""

    def __init__(self, db: Database, duties: list[Duty], holder: str | None = None) -> None:
        self.db = db
        self.duties = duties
        self.holder = holder or server_identity()
        self._due = dict.fromkeys((d.name for d in duties), 0.0)
        self._stop = threading.Event()
        self._running = threading.Lock()
        #: The duty running now, if any.
        self._current: str | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Run duties in the background until ``stop``."""
        self._thread = threading.Thread(target=self._loop, name="duties", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop and hand the leases back (but that of a run still going after STOP_WAIT: it
        expires on its own, so no other replica runs that duty alongside this one)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=STOP_WAIT)
        running = self._current
        try:
            with self.db.write() as repos:
                for duty in self.duties:
                    if duty.name != running:
                        repos.duty_leases.release(duty.name, self.holder)
        except TraplineError:
            log.warning("could not release duty leases; they expire on their own")
        if running is not None:
            log.warning("stopping in the middle of duty %s; its lease expires on its own", running)

    def run_once(self, now: float | None = None) -> list[str]:
        """Run every duty that is due and whose lease this runner gets; returns their names."""
        with self._running:  # the background loop and a caller (tests, admin) take turns
            return self._run_due(time.monotonic() if now is None else now)

    def _run_due(self, clock: float) -> list[str]:
        ran = []
        for duty in self.duties:
            if self._stop.is_set():  # stopping: a lease handed back is not taken again
                break
            if clock < self._due[duty.name]:
                continue
            self._due[duty.name] = clock + duty.interval
            if not self._lease(duty):
                continue
            self._current = duty.name
            try:
                with self._renewing(duty):
                    duty.run()
                ran.append(duty.name)
            except TraplineError as exc:
                log.warning("duty %s failed: %s", duty.name, exc.detail)
            except Exception:
                log.exception("duty %s failed", duty.name)
            finally:
                self._current = None
        return ran

    @contextmanager
    def _renewing(self, duty: Duty) -> Iterator[None]:
        """Renew the duty's lease while a run of it lasts, so a long run (a reconciler pass
        over many jobs, a slow NATS) does not let another replica run it at the same time."""
        done = threading.Event()

        def keep() -> None:
            while not done.wait(_lease_seconds(duty) / 3):
                if not self._lease(duty):
                    log.warning(
                        "duty %s: could not renew its lease during a long run; another replica "
                        "may take the duty over once it expires",
                        duty.name,
                    )

        keeper = threading.Thread(target=keep, name=f"lease-{duty.name}", daemon=True)
        keeper.start()
        try:
            yield
        finally:
            done.set()
            keeper.join()

    def _lease(self, duty: Duty) -> bool:
        ttl = timedelta(seconds=_lease_seconds(duty))
        now = utcnow()
        try:
            with self.db.write() as repos:
                return repos.duty_leases.acquire(duty.name, self.holder, now + ttl, now)
        except TraplineError:
            return False

    def _loop(self) -> None:
        tick = min((d.interval for d in self.duties), default=1.0) / 2
        while not self._stop.wait(max(tick, 0.05)):
            self.run_once()


def _lease_seconds(duty: Duty) -> float:
    """How long a duty's lease lasts from its last renewal: when the replica holding it dies,
    another takes the duty over after at most this long."""
    return max(3 * duty.interval, MIN_LEASE_SECONDS)
